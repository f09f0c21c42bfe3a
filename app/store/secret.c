/* secret.c — the server secret that seals HMAC keys at rest: key_secret of runorg.conf, or a file made on
 * first need.
 *
 * Why a file and not the database: the keys' rows are sealed with it, so a
 * copy of the database (a dump, a replica, a backup) must not hold it. Only
 * runorg-fcgi needs it (it seals keys when they are created and opens them to
 * check a login); the processor stores what it is given. README, "Keys". */
#include "store/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/hex.h"
#include "core/log.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned char secret[SEAL_KEY_SIZE]; /* guarded by lock until loaded, read-only after */
static bool loaded;

/* 64 hex digits (white space around them ignored) into secret. */
static int parse(const char *text, size_t len, const char *from)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	while (len && (*text == ' ' || *text == '\t')) {
		text++;
		len--;
	}
	if (len != 2 * SEAL_KEY_SIZE || hex_decode(text, len, secret, sizeof secret) != SEAL_KEY_SIZE) {
		log_error("%s: the server secret must be %d hex digits", from, 2 * SEAL_KEY_SIZE);
		return -1;
	}
	return 0;
}

/* 0 read, 1 no such file, -1 failed (logged). */
static int read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0) {
		log_error("key_secret_file %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	char buf[160];
	struct stat st;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (fstat(fd, &st) == 0 && (st.st_mode & 077))
		log_warn("key_secret_file %s: readable by others than its owner (chmod 600 it)", path);
	close(fd);
	int r = n < 0 ? -1 : parse(buf, (size_t)n, path);
	if (n < 0)
		log_error("key_secret_file %s: cannot read: %s", path, strerror(errno));
	OPENSSL_cleanse(buf, sizeof buf);
	return r;
}

/* Makes the file: written under a temporary name, then linked to its own,
 * which fails when another process made it meanwhile (then read_file reads
 * that one). 0 made, 1 someone else made it, -1 failed (logged). */
static int make_file(const char *path)
{
	unsigned char fresh[SEAL_KEY_SIZE];
	char text[2 * SEAL_KEY_SIZE + 2], tmp[300];
	snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
	if (RAND_bytes(fresh, sizeof fresh) != 1) {
		log_error("key_secret_file %s: no random bytes", path);
		return -1;
	}
	hex_encode(fresh, sizeof fresh, text);
	strcat(text, "\n");
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	bool ok = fd >= 0 && fchmod(fd, 0600) == 0 &&
	          write(fd, text, strlen(text)) == (ssize_t)strlen(text) && fsync(fd) == 0;
	int err = errno;
	if (fd >= 0)
		close(fd);
	int r = -1;
	if (ok && link(tmp, path) == 0) {
		r = 0;
	} else if (ok && errno == EEXIST) {
		r = 1;
	} else {
		log_error("key_secret_file %s: cannot create it: %s (set key_secret, or make its directory "
		          "writable by this user)",
		          path, strerror(ok ? errno : err));
	}
	if (fd >= 0)
		unlink(tmp);
	if (r == 0) {
		memcpy(secret, fresh, sizeof secret);
		log_info("key_secret_file %s: made a new server secret", path);
	}
	OPENSSL_cleanse(fresh, sizeof fresh);
	OPENSSL_cleanse(text, sizeof text);
	return r;
}

static int load(void)
{
	if (cf.key_secret[0])
		return parse(cf.key_secret, strlen(cf.key_secret), "key_secret");
	if (!cf.key_secret_file[0]) {
		log_error("neither key_secret nor key_secret_file is set: HMAC keys cannot be used");
		return -1;
	}
	int r = read_file(cf.key_secret_file);
	if (r == 1) {
		r = make_file(cf.key_secret_file);
		if (r == 1)
			r = read_file(cf.key_secret_file);
	}
	return r == 0 ? 0 : -1;
}

int secret_get(unsigned char out[SEAL_KEY_SIZE])
{
	pthread_mutex_lock(&lock);
	if (!loaded)
		loaded = load() == 0; /* failures are retried on the next call */
	if (loaded)
		memcpy(out, secret, SEAL_KEY_SIZE);
	pthread_mutex_unlock(&lock);
	return loaded ? 0 : -1;
}
