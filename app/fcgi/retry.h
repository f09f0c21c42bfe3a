/* retry.h — writes a client may retry (SPEC §7): the answer of a delayed write with its Location,
 * the Idempotency-Key header, the keys in flight, and what a retry is answered. */
#ifndef RUNORG_RETRY_H
#define RUNORG_RETRY_H

#include <json-c/json.h>
#include <stdbool.h>

#include "fcgi/reply.h"
#include "fcgi/request.h"

/* Called by the master before it forks workers: from then on the workers
 * share the keys in flight (a process that did not call it keeps its own). */
int retry_share(void);

/* Before the wait (after the at= syntax): for a write with a token, the
 * Idempotency-Key header, if any: 400 when malformed; 409 (Retry-After)
 * while a request with the same token and key is in flight in this process
 * or another worker of its master; else 0, and this request is in flight
 * until retry_end. Writes without a token (test mode) ignore the header. */
int retry_begin(struct req *rq, struct reply *rp);

/* Once the body is read, before the handler: fills rq->push (who queues,
 * where the Location points) and the request's fingerprint. */
void retry_ready(struct req *rq);

/* The members of the answer before "at" (idem_answer): fields' members, or
 * none for NULL. Takes fields. */
void retry_head(struct req *rq, json_object *fields);

/* The end of every write handler, with what queue_push answered (e): the
 * 202 with its Location (QUEUE_OK); the answer recorded under the key, or
 * 422 when it was another request's (QUEUE_TAKEN); 409 (QUEUE_BUSY); 500
 * naming `what` (QUEUE_FAILED). */
int retry_accepted(struct req *rq, struct reply *rp, int e, const char *what);

/* The end of a write handler that queues one command of its database: queues
 * cmd as a command `kind` and answers as retry_accepted does, 202 {"id",
 * "at"} when id is given, else {"at"}. cmd NULL: a write that turns out to
 * change nothing queues nothing, but is answered (and recorded under its
 * Idempotency-Key) like any write. Takes cmd. */
int retry_enqueue(struct req *rq, struct reply *rp, const char *kind, json_object *cmd, const char *id);

/* After the handler, with its status: a keyed request refused with a 4xx
 * whose key was recorded (say a retry that finds its group created by the
 * first) gets the recorded answer, or 422. Else st unchanged. */
int retry_checked(struct req *rq, struct reply *rp, int st);

/* The request is answered: its key is no longer in flight. */
void retry_end(struct req *rq);

/* The fingerprint of a request (pure, for tests): the SHA-256 (IDEM_HEX hex
 * digits of it) of method, path segments, the contact it acts as and the body. */
void retry_fingerprint(const struct req *rq, char hex[IDEM_HEX + 1]);

#endif
