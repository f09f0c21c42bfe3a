/* cgi.h — one request as a plain CGI program: the environment and stdin in, stdout out. */
#ifndef RUNORG_CGI_H
#define RUNORG_CGI_H

/* Handles the request described by this process's environment (REQUEST_METHOD,
 * REQUEST_URI or PATH_INFO + QUERY_STRING, CONTENT_LENGTH, HTTP_AUTHORIZATION),
 * its body read from stdin, the answer written to stdout. Returns 0, or 1
 * when the answer could not be written. */
int cgi_serve(void);

#endif
