/* mailbox.c — expand the --mailbox template (mailbox.h).
 *
 * The template comes from the administrator and is trusted; what it
 * expands (user, local part, domain) comes from the network and is not.
 * Each expansion must be a single safe path component, and the home
 * (from the passwd-file or the system) must be an absolute path. */
#include <string.h>
#include <sys/stat.h>

#include "mailbox.h"

/* A value for %u %n %d: one path component, nothing a path can trip on. */
static int component_ok(const char *s, size_t n)
{
	if (n == 0 || n > AUTH_NAME_MAX)
		return 0;
	char tmp[AUTH_NAME_MAX + 1];
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return auth_name_ok(tmp);
}

/* Whether the home is usable in a path: absolute, no "." or ".." step. */
static int home_ok(const char *h)
{
	const char *p = h;

	if (h[0] != '/')
		return 0;
	while ((p = strchr(p, '/')) != NULL) {
		p++;
		if ((p[0] == '.' && (p[1] == '/' || p[1] == '\0')) ||
		    (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0')))
			return 0;
	}
	return 1;
}

static int put(char *path, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap)
		return -1;
	memcpy(path + *len, s, n);
	*len += n;
	path[*len] = '\0';
	return 0;
}

/* Expand one %x; return 0, or -1 with why set. */
static int expand(char c, const struct user *u, char *path, size_t cap, size_t *len,
    const char **why)
{
	const char *at = strrchr(u->name, '@');
	const char *v;
	size_t n;

	switch (c) {
	case '%': v = "%"; n = 1; break;
	case 'u': v = u->name; n = strlen(v); break;
	case 'n': v = u->name; n = at ? (size_t)(at - u->name) : strlen(v); break;
	case 'd':
		/* No domain: empty, as in Dovecot. */
		if (at == NULL)
			return 0;
		v = at + 1; n = strlen(v);
		break;
	case 'h':
		if (u->home[0] == '\0')
			return *why = "user has no home directory", -1;
		if (!home_ok(u->home))
			return *why = "home directory is not a clean absolute path", -1;
		v = u->home; n = strlen(v);
		break;
	default:
		return *why = "unknown %-sequence in mailbox template", -1;
	}
	if ((c == 'u' || c == 'n' || c == 'd') && !component_ok(v, n))
		return *why = "user name not safe in a path", -1;
	if (put(path, cap, len, v, n) < 0)
		return *why = "mailbox path too long", -1;
	return 0;
}

/* Kind from the prefix; with none, an existing regular file is an mbox. */
static const char *kind_of(const char *tmpl, enum mailbox_kind *kind, int *guess)
{
	*guess = 0;
	if (strncmp(tmpl, "maildir:", 8) == 0)
		return *kind = MB_MAILDIR, tmpl + 8;
	if (strncmp(tmpl, "mbox:", 5) == 0)
		return *kind = MB_MBOX, tmpl + 5;
	*guess = 1;
	*kind = MB_MAILDIR;
	return tmpl;
}

int mailbox_path(const char *tmpl, const struct user *u, char *path, size_t cap,
    enum mailbox_kind *kind, const char **why)
{
	const char *t;
	size_t len = 0;
	int guess;
	struct stat st;

	*why = NULL;
	if (cap == 0)
		return *why = "mailbox path too long", -1;
	path[0] = '\0';
	if (tmpl == NULL || *tmpl == '\0')
		tmpl = MAILBOX_DEFAULT;
	t = kind_of(tmpl, kind, &guess);
	if (*t == '\0')
		return *why = "empty mailbox path in template", -1;
	for (; *t; t++) {
		if (*t != '%') {
			if (put(path, cap, &len, t, 1) < 0)
				return *why = "mailbox path too long", -1;
			continue;
		}
		if (t[1] == '\0')
			return *why = "template ends with a lone %", -1;
		if (expand(*++t, u, path, cap, &len, why) < 0)
			return -1;
	}
	if (guess && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		*kind = MB_MBOX;
	return 0;
}
