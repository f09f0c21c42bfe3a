/* person.h — how a contact is shown: display name and gravatar picture. */
#ifndef RUNORG_PERSON_H
#define RUNORG_PERSON_H

#include <stddef.h>

/* name = fullname; else "firstname lastname"; else whichever is given; else email.
 * NULL stands for an absent field. Returns a malloc'd string. */
char *person_name(const char *fullname, const char *firstname, const char *lastname, const char *email);

/* "https://www.gravatar.com/avatar/" + md5 hex of the trimmed, lower-cased
 * (ASCII) e-mail, into out (at least PERSON_PIC_SIZE bytes). */
#define PERSON_PIC_SIZE 72
void person_pic(const char *email, char out[PERSON_PIC_SIZE]);

/* Lower-cased (ASCII) trimmed copy of an e-mail, used for duplicate detection. malloc'd. */
char *person_email_key(const char *email);

/* 0 when `email` (already a clean label) looks like an e-mail address:
 * no white space, exactly one '@', non-empty local part, a domain with a dot
 * that neither starts nor ends the domain, at most 254 bytes. */
int person_email_check(const char *email);

#endif
