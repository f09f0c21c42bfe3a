/* secret.h — the server secret that seals HMAC keys at rest: key_secret of runorg.conf, or a file made on
 * first need. */
#ifndef RUNORG_SECRET_H
#define RUNORG_SECRET_H

#include "core/seal.h"

/* The server secret into out: cf.key_secret (64 hex digits) when set; else
 * the file cf.key_secret_file, which is made (mode 0600, 64 random hex
 * digits) when it does not exist yet, by whichever process needs it first
 * (atomically: a process that loses the race reads the winner's). Read once
 * per process, then kept in memory. Returns 0, or -1 with the reason logged
 * (never the secret). */
int secret_get(unsigned char out[SEAL_KEY_SIZE]);

#endif
