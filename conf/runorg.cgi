#!/bin/sh
# runorg.cgi — the wrapper a web server runs: runorg-fcgi with its configuration file.
# Used as runorg.cgi (plain CGI) and as runorg.fcgi (mod_fcgid). Placeholders:
# @FCGI@ the runorg-fcgi binary, @CONF@ its runorg.conf (make install writes a filled-in copy).
exec @FCGI@ -c @CONF@
