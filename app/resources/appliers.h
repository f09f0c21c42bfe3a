/* appliers.h — the command table: which function applies which kind of command. */
#ifndef RUNORG_APPLIERS_H
#define RUNORG_APPLIERS_H

#include "resources/apply.h"

struct applier {
	const char *kind;
	apply_fn apply;
	apply_run_fn apply_run; /* optional */
};

/* The applier of a command kind, NULL for an unknown kind. */
const struct applier *applier_find(const char *kind);

#endif
