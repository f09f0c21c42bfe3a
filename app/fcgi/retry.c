/* retry.c — writes a client may retry (SPEC §7): the answer of a delayed write with its Location,
 * the Idempotency-Key header, the keys in flight, and what a retry is answered.
 *
 * A key is recorded with its answer by the transaction that queues the
 * request's command (store/queue.c), never before: so a request with a key
 * seen before is not looked up first (that would cost every keyed write a
 * query); it runs, and the queue finds the key taken when it tries to record
 * it again, or the handler refuses it with a 4xx (a group created by the
 * first) and retry_checked looks the key up then. Either way the retry gets
 * the first answer, byte for byte, and queues nothing.
 *
 * Keys in flight: a table of slots shared by the workers of one master (or
 * a process's own), claimed from before the wait on at= until the answer is
 * sent; a second request with the key meanwhile gets 409 at once. A slot
 * holds a 64-bit tag of (token, key) and the claiming process; one left by
 * a process that died (kill -9) is taken back. The table is a hint: a slot
 * already held by another key leaves a request untracked, and processes that
 * share nothing (other hosts, CGI) never see each other's slots. Then a
 * concurrent duplicate is not refused with 409, but cannot be applied twice
 * either: its key row waits for the first's transaction, and finds the key
 * taken once that commits. */
#include "fcgi/retry.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "store/db.h"

#define SLOTS 8192
#define STALE_S 600 /* no request runs this long: a slot this old is taken back whoever held it */
/* A claim or a release takes nanoseconds: pid 0 this long means its process died there. */
#define CLAIMING_S 5

struct slot {
	_Atomic uint64_t tag;  /* 0: free */
	_Atomic int pid;       /* 0 while being claimed */
	_Atomic int64_t since; /* CLOCK_MONOTONIC seconds */
};

static struct slot *slots;
static pthread_once_t slots_once = PTHREAD_ONCE_INIT;

static void slots_own(void)
{
	if (!slots)
		slots = xcalloc(SLOTS, sizeof *slots);
}

int retry_share(void)
{
	void *p =
	    mmap(NULL, SLOTS * sizeof *slots, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	slots = p; /* zero-filled: every slot free */
	return 0;
}

static int64_t now_s(void)
{
	return (int64_t)(db_mono_us() / 1000000u);
}

static bool alive(int pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* 64 bits of the key's id (a SHA-256 of the token's hash and the key); never 0. */
static uint64_t tag_of(const struct idem *k)
{
	char first[17];
	memcpy(first, k->id, 16);
	first[16] = 0;
	uint64_t h = strtoull(first, NULL, 16);
	return h ? h : 1;
}

/* Claims the key's slot: false when the key is in flight already. */
static bool claim(struct req *rq)
{
	pthread_once(&slots_once, slots_own);
	uint64_t tag = tag_of(&rq->key);
	size_t i = tag % SLOTS;
	struct slot *s = &slots[i];
	for (int tries = 0; tries < 4; tries++) {
		uint64_t cur = atomic_load(&s->tag);
		if (cur == 0) {
			if (!atomic_compare_exchange_strong(&s->tag, &cur, tag))
				continue;
			atomic_store(&s->since, now_s());
			atomic_store(&s->pid, (int)getpid());
			rq->key_slot = (int)i + 1;
			return true;
		}
		if (cur != tag)
			return true; /* another key holds the slot: this one goes untracked */
		/* pid 0: being claimed or released (since is written before pid,
		 * so it is current once pid is not 0). A process killed between
		 * the two steps leaves pid 0 for good: since then says only "at
		 * least this old", which is enough to take the slot back. */
		int pid = atomic_load(&s->pid);
		int64_t age = now_s() - atomic_load(&s->since);
		if (pid == 0 ? age <= CLAIMING_S : alive(pid) && age <= STALE_S)
			return false;
		/* Left by a process that died: free it, then claim it. */
		if (atomic_compare_exchange_strong(&s->tag, &cur, 0))
			atomic_store(&s->pid, 0);
	}
	return true;
}

void retry_end(struct req *rq)
{
	if (!rq->key_slot)
		return;
	struct slot *s = &slots[rq->key_slot - 1];
	uint64_t tag = tag_of(&rq->key);
	if (atomic_load(&s->pid) == (int)getpid()) {
		atomic_store(&s->pid, 0);
		atomic_compare_exchange_strong(&s->tag, &tag, 0);
	}
	rq->key_slot = 0;
}

static int busy(struct req *rq, struct reply *rp)
{
	rq->keyed = false; /* answered: nothing more to look up */
	rp->retry_after = 1;
	return reply_error(rp, 409, "A request with this Idempotency-Key is still in progress");
}

int retry_begin(struct req *rq, struct reply *rp)
{
	if (!rq->idem_header || !strcmp(rq->method, "GET") || !rq->token_hash[0])
		return 0;
	if (!idem_key_valid(rq->idem_header))
		return reply_invalid(rp, "Idempotency-Key", "expected 1 to 255 printable ASCII characters",
		                     "Invalid Idempotency-Key");
	idem_set(&rq->key, rq->token_hash, rq->idem_header);
	rq->keyed = true;
	if (!claim(rq))
		return busy(rq, rp);
	return 0;
}

void retry_fingerprint(const struct req *rq, char hex[IDEM_HEX + 1])
{
	/* method \n /seg/seg... \n as \n body */
	const void *parts[2 * REQ_MAX_SEGS + 8];
	size_t lens[2 * REQ_MAX_SEGS + 8];
	int n = 0;
#define PART(p, len) (parts[n] = (p), lens[n++] = (len))
	PART(rq->method, strlen(rq->method));
	PART("\n", 1);
	for (int i = 0; i < rq->nseg; i++) {
		PART("/", 1);
		PART(rq->seg[i], strlen(rq->seg[i]));
	}
	PART("\n", 1);
	PART(rq->as, strlen(rq->as));
	PART("\n", 1);
	PART(rq->body ? rq->body : "", rq->body ? rq->body_len : 0);
#undef PART
	idem_digest(parts, lens, n, hex);
}

void retry_ready(struct req *rq)
{
	/* cf.base_path has no trailing slash (config_load). */
	snprintf(rq->base, sizeof rq->base, rq->db[0] ? "%s/db/%s" : "%s", cf.base_path, rq->db);
	rq->push.token = rq->token_hash[0] ? rq->token_hash : NULL;
	rq->push.contact = rq->as;
	rq->push.base = rq->base;
	if (rq->keyed) {
		retry_fingerprint(rq, rq->key.request);
		rq->push.key = &rq->key;
	}
}

void retry_head(struct req *rq, json_object *fields)
{
	free(rq->push.head);
	rq->push.head = NULL;
	if (!fields)
		return;
	const char *t = json_text(fields);
	size_t n = strlen(t); /* "{...}": the members, then a comma */
	char *head = xmalloc(n);
	if (n > 2) {
		memcpy(head, t + 1, n - 2);
		head[n - 2] = ',';
		head[n - 1] = 0;
	} else {
		head[0] = 0;
	}
	rq->push.head = head;
	json_object_put(fields);
}

/* The answer recorded under the key (read now if the queue did not), or 422. */
static int replay(struct req *rq, struct reply *rp)
{
	if (!rq->key.found) {
		int f = req_m(rq) ? idem_find(rq->m, &rq->key) : -1;
		if (f < 0)
			return reply_internal(rp, "idempotency key look-up");
		if (f == 0) /* taken a moment ago, gone now (expired): let the client try again */
			return busy(rq, rp);
	}
	rq->keyed = false; /* answered: nothing more to look up */
	bool head = rp->head;
	reply_free(rp);
	*rp = (struct reply){.head = head};
	if (strcmp(rq->key.found_request, rq->key.request))
		return reply_error(rp, 422, "Idempotency-Key reused with a different request");
	rp->status = rq->key.status;
	rp->text = rq->key.body;
	rp->location = rq->key.location;
	rq->key.body = rq->key.location = NULL;
	return rp->status;
}

int retry_accepted(struct req *rq, struct reply *rp, int e, const char *what)
{
	switch (e) {
	case QUEUE_OK:
		rp->status = 202;
		rp->text = rq->push.body;
		rp->location = rq->push.location;
		rq->push.body = rq->push.location = NULL;
		return 202;
	case QUEUE_TAKEN:
		return replay(rq, rp);
	case QUEUE_BUSY:
		return busy(rq, rp);
	default:
		return reply_internal(rp, what);
	}
}

int retry_enqueue(struct req *rq, struct reply *rp, const char *kind, json_object *cmd, const char *id)
{
	json_object *head = NULL;
	if (id) {
		head = json_object_new_object();
		json_object_object_add(head, "id", json_object_new_string(id));
	}
	retry_head(rq, head);
	uint64_t pos;
	int e = queue_push(rq->m, &rq->push, rq->stream, rq->db, kind, cmd ? json_text(cmd) : NULL, &pos);
	json_object_put(cmd);
	char what[64];
	snprintf(what, sizeof what, "enqueue %s", kind);
	return retry_accepted(rq, rp, e, what);
}

int retry_checked(struct req *rq, struct reply *rp, int st)
{
	if (!rq->keyed || st < 400 || st >= 500)
		return st;
	MYSQL *m = req_m(rq);
	if (!m || idem_find(m, &rq->key) != 1)
		return st; /* not recorded: the 4xx stands (it queued nothing) */
	if (!rq->key.request[0]) /* refused before retry_ready: an unreadable body, say */
		retry_fingerprint(rq, rq->key.request);
	return replay(rq, rp);
}
