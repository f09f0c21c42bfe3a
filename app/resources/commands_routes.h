/* commands_routes.h — the routes of commands: what became of a delayed write (SPEC §7). */
#ifndef RUNORG_COMMANDS_ROUTES_H
#define RUNORG_COMMANDS_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* GET /db/{db}/commands/{ref} and GET /commands/{ref} (the server's commands). */
int command_get(struct req *rq, struct reply *rp);
int server_command_get(struct req *rq, struct reply *rp);

/* A ref: "<stream>.<pos>", decimal without leading zeros, pos 0 for a write
 * that queued nothing. Pure (tests/unit). */
bool command_ref_parse(const char *ref, uint32_t *stream, uint64_t *pos);

#endif
