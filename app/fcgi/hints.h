/* hints.h — the front's side of hints: each worker listens for "stream s is at n" and polls at once. */
#ifndef RUNORG_FCGI_HINTS_H
#define RUNORG_FCGI_HINTS_H

/* Opens this worker's UDP socket on cf.hint_host (any port), registers it in
 * `listeners` every second, and hands every hint heard to the clock poll
 * (poll_hint). Nothing happens when hint_host is empty. 0 or -1. */
int hints_listen(void);

#endif
