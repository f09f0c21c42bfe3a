# Makefile — RunOrg: install dependencies, build, run, test.
#
#   make            build build/runorg-fcgi and build/runorg-processor
#   make run        start the whole stack on http://127.0.0.1:8080, stay in the foreground
#   make start/stop the same stack in the background
#   make token      a new server-administrator token for the running stack
#   make bench      the benchmark table (also in var/bench/latest.md)
#   make test       isolated stack + unit tests + API tests, prints "N passed, N failed"
#   make check-layers  the processor and runorgctl link nothing of the HTTP front (run by make test)
#   make unit       build and run the C unit tests only
#   make test SANITIZE=1  the same with AddressSanitizer + UBSan, built in build/sanitize
#   make test-faults      fault scenarios (kill -9, standby, MariaDB restart, read-only)
#   make test-replica     two web hosts, one reading a MariaDB replica (README, "Scaling out")
#   make bench-replica    make bench's R and S through a front reading a replica
#   make fuzz       libFuzzer targets (tests/fuzz), FUZZ_SECONDS each (default 30)
#   make test-deploy  RunOrg behind lighttpd, Apache (proxy_fcgi, fcgid, CGI) and nginx, from conf/
#   make install    binaries, sql/, example configs, systemd units (PREFIX, DESTDIR)
#   make deps       install missing Debian packages (apt-get, as root)
#   make format     clang-format the C sources
#   make clean      remove build/

CC ?= cc
BUILD := build

# make ... SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer, objects of their own.
ifeq ($(SANITIZE),1)
BUILD := build/sanitize
CFLAGS ?= -O1 -g
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif

# Debian packages needed to build, run and test. `make deps` installs the missing ones.
DEB_PACKAGES := gcc libc6-dev make pkg-config libfcgi-dev libjson-c-dev libmariadb-dev \
	mariadb-server-core mariadb-client-core lighttpd libcmocka-dev libinih-dev \
	python3-pytest libssl-dev curl wrk procps

# pkg-config is asked once, when a recipe first needs the flags (so after `deps`
# has installed pkg-config and the libraries on a fresh machine).
PKGS := libmariadb json-c inih libcrypto
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) -Wall -Wextra -pthread -Iapp $(PKG_CFLAGS)
LIBS = $(PKG_LIBS) -lfcgi -pthread

# The layers, lowest first (README, "How the code is laid out"):
#   core (no I/O) -> store (MariaDB) -> resources (commands, appliers, projections)
#   -> the HTTP front: fcgi/ and the route handlers resources/*_routes.c.
# runorg-processor and runorgctl sit on resources and below: they link
# neither libfcgi nor any object of the front (make check-layers proves it).
CORE_SRCS := $(sort $(wildcard app/core/*.c))
STORE_SRCS := $(sort $(wildcard app/store/*.c))
ROUTE_SRCS := $(sort $(wildcard app/resources/*_routes.c))
RES_SRCS := $(filter-out $(ROUTE_SRCS),$(sort $(wildcard app/resources/*.c)))
FRONT_SRCS := $(filter-out app/fcgi/main.c,$(sort $(wildcard app/fcgi/*.c))) $(ROUTE_SRCS)
PROC_SRCS := $(filter-out app/processor/main.c,$(sort $(wildcard app/processor/*.c)))
BASE_OBJS := $(addprefix $(BUILD)/obj/,$(CORE_SRCS:.c=.o) $(STORE_SRCS:.c=.o) $(RES_SRCS:.c=.o))
FRONT_OBJS := $(addprefix $(BUILD)/obj/,$(FRONT_SRCS:.c=.o))
PROC_OBJS := $(addprefix $(BUILD)/obj/,$(PROC_SRCS:.c=.o))
BASE_LIB := $(BUILD)/libruno-base.a
FRONT_LIB := $(BUILD)/libruno-front.a
BASE_LIBS = $(PKG_LIBS) -pthread
PROGRAMS := $(BUILD)/runorg-fcgi $(BUILD)/runorg-processor $(BUILD)/runorgctl

# Unit tests: tests/unit/test_x.c -> build/tests/test_x (cmocka).
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Keep the unit-test objects (make would delete them as intermediate files).
.SECONDARY:

.PHONY: all deps unit unit-build run start stop token test test-faults test-replica fuzz bench bench-replica format \
	clean check-layers

all: deps $(PROGRAMS)

# Cheap when everything is installed: one dpkg-query call.
deps:
	@installed=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEB_PACKAGES) 2>/dev/null \
		| awk '/ install ok installed$$/ {print $$1}'); \
	missing=""; \
	for p in $(DEB_PACKAGES); do \
		echo "$$installed" | grep -qx "$$p" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$missing"; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: run as root, or: apt-get install --no-install-recommends$$missing" >&2; exit 1; \
		fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Objects wait for `deps` (order-only: installing packages does not force a rebuild).
$(BUILD)/obj/%.o: %.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BASE_LIB): $(BASE_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(FRONT_LIB): $(FRONT_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/runorg-fcgi: $(BUILD)/obj/app/fcgi/main.o $(FRONT_LIB) $(BASE_LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# No libfcgi here, and no object of the front.
$(BUILD)/runorg-processor: $(BUILD)/obj/app/processor/main.o $(PROC_OBJS) $(BASE_LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(BASE_LIBS)

$(BUILD)/runorgctl: $(BUILD)/obj/app/ctl/main.o $(BASE_LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(BASE_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(FRONT_LIB) $(PROC_OBJS) $(BASE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS)

# Fails on evidence (ldd, nm, #include lines) that a layer uses one above it.
check-layers: $(PROGRAMS) $(FRONT_LIB)
	@bash tests/check-layers.sh $(BUILD)

unit-build: deps $(TEST_BINS)

unit: unit-build
	@status=0; for t in $(TEST_BINS); do echo "== $$t"; ./$$t || status=1; done; exit $$status

run: all
	bash conf/stack.sh run

token: all
	@bash conf/stack.sh token

# Figures against baselines of the same run; never fails the build.
bench: all
	@$(MAKE) -s deps DEB_PACKAGES="apache2 libapache2-mod-fcgid" # the S inline rows (tests/bench/shared.sh)
	bash tests/bench/run.sh

# R through a front reading a replica against one reading the primary, and the
# sync overshoot across hosts (tests/bench/README.md).
bench-replica: all
	bash tests/bench/replica.sh

start: all
	bash conf/stack.sh start

stop:
	bash conf/stack.sh stop

# php-cli runs the PHP client of tests/clients (a site logging its users in with
# HMAC): installed (when missing) only for the tests.
TEST_PACKAGES := php-cli

test: deps
	@$(MAKE) -s deps DEB_PACKAGES="$(TEST_PACKAGES)"
	RUNORG_BUILD=$(CURDIR)/$(BUILD) bash tests/run.sh

test-faults: deps
	bash tests/faults/run.sh

test-replica: deps
	bash tests/replica/run.sh

# clang and its libFuzzer runtime are installed only when fuzzing.
fuzz: deps
	@$(MAKE) -s deps DEB_PACKAGES="clang libclang-rt-14-dev"
	bash tests/fuzz/run.sh

format:
	@command -v clang-format >/dev/null || $(MAKE) deps DEB_PACKAGES=clang-format
	clang-format -i $$(find app -name '*.[ch]') $(wildcard tests/unit/*.[ch])

clean:
	rm -rf $(BUILD)

# --- deployment ----------------------------------------------------------------

# The web servers that `make test-deploy` puts in front of RunOrg: installed
# (when missing) only then.
DEPLOY_PACKAGES := apache2 libapache2-mod-fcgid nginx

.PHONY: test-deploy install

test-deploy: all
	@$(MAKE) -s deps DEB_PACKAGES="$(DEPLOY_PACKAGES)"
	bash tests/deploy.sh

# make install: PREFIX (default /usr/local), DESTDIR (a staging root for
# packages). Packagers of PREFIX=/usr usually add SYSCONFDIR=/etc; logrotate
# reads only /etc/logrotate.d. An existing runorg.conf is kept (runorg.conf.new).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share/runorg
DOCDIR ?= $(PREFIX)/share/doc/runorg
SYSCONFDIR ?= $(PREFIX)/etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
LOGROTATEDIR ?= $(SYSCONFDIR)/logrotate.d
RUNDIR ?= /run/runorg
LOGDIR ?= /var/log/runorg
# runorg-fcgi's state: key-secret, the server secret that seals HMAC keys, made at
# its first start (runorg-fcgi.service's StateDirectory).
STATEDIR ?= /var/lib/runorg
# The web-server examples of conf/, with their placeholders filled in.
EXAMPLES := lighttpd.conf lighttpd-spawn.conf apache-proxy-fcgi.conf apache-htaccess.conf \
	apache-fcgid.htaccess apache-cgi.htaccess nginx.conf runorg.cgi
FILL = sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' -e 's|@LOGDIR@|$(LOGDIR)|g' \
	-e 's|@CONF@|$(SYSCONFDIR)/runorg/runorg.conf|g' -e 's|@FCGI@|$(SBINDIR)/runorg-fcgi|g' \
	-e 's|@SOCKET@|$(RUNDIR)/runorg.sock|g' -e 's|@PORT@|80|g' -e 's|@WWW@|/var/www/runorg|g' \
	-e 's|@VAR@|/var/lib/runorg/lighttpd|g' -e 's|@MAX_FDS@|65536|g' -e 's|@MAX_CONNS@|32000|g' -e 's|@ERRORS@|$(DATADIR)/errors|g'
D := $(DESTDIR)
# The web servers' own error bodies go to $(DATADIR)/errors, named as lighttpd's
# server.errorfile-prefix looks for them: conf/errors/<status>.json as <status>.html
# (JSON all the same; the lighttpd examples map .html to application/json).

install: all
	install -d $(D)$(SBINDIR) $(D)$(DATADIR)/sql $(D)$(DATADIR)/examples $(D)$(DATADIR)/errors $(D)$(DOCDIR) \
		$(D)$(SYSCONFDIR)/runorg $(D)$(UNITDIR) $(D)$(SYSUSERSDIR) $(D)$(LOGROTATEDIR)
	install -m 755 $(PROGRAMS) $(D)$(SBINDIR)/
	install -m 644 sql/*.sql $(D)$(DATADIR)/sql/
	for f in conf/errors/*.json; do install -m 644 $$f $(D)$(DATADIR)/errors/$$(basename $$f .json).html || exit 1; done
	install -m 644 README.md CHANGELOG $(D)$(DOCDIR)/
	for f in $(EXAMPLES); do $(FILL) conf/$$f >$(D)$(DATADIR)/examples/$$f || exit 1; done
	chmod 644 $(addprefix $(D)$(DATADIR)/examples/,$(EXAMPLES))
	chmod 755 $(D)$(DATADIR)/examples/runorg.cgi
	for u in runorg-fcgi runorg-processor; do \
		$(FILL) conf/systemd/$$u.service >$(D)$(UNITDIR)/$$u.service && chmod 644 $(D)$(UNITDIR)/$$u.service || exit 1; \
	done
	install -m 644 conf/systemd/runorg.sysusers $(D)$(SYSUSERSDIR)/runorg.conf
	$(FILL) conf/logrotate >$(D)$(LOGROTATEDIR)/runorg && chmod 644 $(D)$(LOGROTATEDIR)/runorg
	conf=$(D)$(SYSCONFDIR)/runorg/runorg.conf; [ ! -e $$conf ] || conf=$$conf.new; \
	sed -e 's|^socket =.*|socket = $(RUNDIR)/runorg.sock|' -e 's|^sql_dir =.*|sql_dir = $(DATADIR)/sql|' \
		-e 's|^key_secret_file =.*|key_secret_file = $(STATEDIR)/key-secret|' \
		conf/runorg.conf >$$conf && chmod 644 $$conf && echo "make install: wrote $$conf"

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
