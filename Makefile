# Makefile — RunOrg: install dependencies, build, run, test.
#
#   make            build build/runorg-fcgi and build/runorg-processor
#   make run        start the whole stack on http://127.0.0.1:8080, stay in the foreground
#   make start/stop the same stack in the background
#   make token      a new server-administrator token for the running stack
#   make test       isolated stack + unit tests + API tests, prints "N passed, N failed"
#   make unit       build and run the C unit tests only
#   make deps       install missing Debian packages (apt-get, as root)
#   make format     clang-format the C sources
#   make clean      remove build/

CC ?= cc
BUILD := build

# Debian packages needed to build, run and test. `make deps` installs the missing ones.
DEB_PACKAGES := gcc libc6-dev make pkg-config libfcgi-dev libjson-c-dev libmariadb-dev \
	mariadb-server-core mariadb-client-core lighttpd libcmocka-dev libinih-dev \
	python3-pytest libssl-dev curl wrk

# pkg-config is asked once, when a recipe first needs the flags (so after `deps`
# has installed pkg-config and the libraries on a fresh machine).
PKGS := libmariadb json-c inih libcrypto
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)

CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) -Wall -Wextra -pthread -Iapp $(PKG_CFLAGS)
LIBS = $(PKG_LIBS) -lfcgi -pthread

# Every app/**/*.c except the two main.c files goes into libruno.a.
MAINS := app/fcgi/main.c app/processor/main.c
LIB_SRCS := $(filter-out $(MAINS),$(shell find app -name '*.c' 2>/dev/null | sort))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libruno.a
PROGRAMS := $(BUILD)/runorg-fcgi $(BUILD)/runorg-processor

# Unit tests: tests/unit/test_x.c -> build/tests/test_x (cmocka).
TEST_SRCS := $(wildcard tests/unit/test_*.c)
TEST_BINS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Keep the unit-test objects (make would delete them as intermediate files).
.SECONDARY:

.PHONY: all deps unit unit-build run start stop token test format clean

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

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/runorg-fcgi: $(BUILD)/obj/app/fcgi/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/runorg-processor: $(BUILD)/obj/app/processor/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(LIBS)

unit-build: deps $(TEST_BINS)

unit: unit-build
	@status=0; for t in $(TEST_BINS); do echo "== $$t"; ./$$t || status=1; done; exit $$status

run: all
	bash conf/stack.sh run

token: all
	@bash conf/stack.sh token

start: all
	bash conf/stack.sh start

stop:
	bash conf/stack.sh stop

test: deps
	bash tests/run.sh

format:
	@command -v clang-format >/dev/null || $(MAKE) deps DEB_PACKAGES=clang-format
	clang-format -i $$(find app -name '*.[ch]') $(wildcard tests/unit/*.[ch])

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
