/* inline.h — the front applies queued commands itself when no processor is
 * alive (apply_inline, conf/runorg.conf): shared hosting, no daemon. */
#ifndef RUNORG_INLINE_H
#define RUNORG_INLINE_H

#include <json-c/json.h>
#include <mysql.h>
#include <stdbool.h>

#include "core/clock.h"

/* This process is a CGI request or was spawned by the web server (mod_fcgid,
 * lighttpd bin-path): apply_inline = auto applies here. The standalone daemon
 * (runorg-fcgi.service) is deployed with processors: auto leaves it to them,
 * only always makes it apply. Called once at start. */
void inline_spawned(void);

/* Whether this process may ever apply (always; or auto in a CGI or spawned
 * process): the caller asks before it takes a connection or parses for it. */
bool inline_possible(void);

/* Applies what is queued on the streams of want that this process does not
 * know reached yet, when apply_inline says so (always; or auto and no
 * processor heartbeat is fresh): per stream, takes the lease without
 * waiting, applies at most 100 commands / 200 ms, releases it, and tells the
 * clock poll (poll_raise). m: a connection of the request, with no
 * transaction open. Returns how many commands were applied. */
int inline_apply(MYSQL *m, const struct clock *want);

/* The same for the "at" member of a 202's body (what the request queued). */
int inline_apply_queued(MYSQL *m, json_object *body);

#endif
