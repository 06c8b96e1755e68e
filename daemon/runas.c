/* The user vigild runs as: which one, becoming it, and `vigild -t`'s checks that it can use the
 * directories vigild needs (as unbound-checkconf does). */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vigil/err.h>
#include <vigil_build.h>
#include "daemon.h"

const char *vg_runas_user(const struct vg_config *cfg, bool *automatic)
{
	if (automatic)
		*automatic = false;
	if (cfg->user)
		return *cfg->user ? cfg->user : NULL;
	if (geteuid() != 0 || !getpwnam(VIGIL_DEFAULT_USER))
		return NULL;
	if (automatic)
		*automatic = true;
	return VIGIL_DEFAULT_USER;
}

int vg_runas_drop(const char *user, char *err, size_t errlen)
{
	if (!user)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user '%s' does not exist", user);
		return VG_ECONFIG;
	}
	if (geteuid() == pw->pw_uid)
		return 0;
	if (initgroups(user, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot become user '%s': %s", user, strerror(e));
		return -e;
	}
	return 0;
}

/* Who the checks are for: uid, primary and supplementary groups. */
struct who {
	const char *name;
	uid_t uid;
	gid_t groups[64];
	int n_groups;
};

/* Permission bits (4 r, 2 w, 1 x) `w` has on `st` by owner, group and other bits; ACLs are not
 * looked at. */
static bool may(const struct who *w, const struct stat *st, unsigned want)
{
	if (w->uid == 0)
		return true;
	unsigned bits = st->st_mode & 7;
	if (st->st_uid == w->uid) {
		bits = (st->st_mode >> 6) & 7;
	} else {
		for (int i = 0; i < w->n_groups; i++)
			if (w->groups[i] == st->st_gid)
				bits = (st->st_mode >> 3) & 7;
	}
	return (bits & want) == want;
}

static int deny(const struct who *w, const char *what, const char *path, const struct stat *st,
		const char *need, const char *fix, char *err, size_t errlen)
{
	struct passwd *owner = getpwuid(st->st_uid);
	char uid[16];
	snprintf(uid, sizeof(uid), "%u", (unsigned)st->st_uid);
	snprintf(err, errlen, "%s: %s is not %s by user '%s' (owner %s, mode %04o); %s", what, path,
		 need, w->name, owner ? owner->pw_name : uid, (unsigned)(st->st_mode & 07777), fix);
	return VG_ECONFIG;
}

/* The directory itself when it exists (it needs `want`), otherwise its parent, where vigild
 * would create it (it needs w+x there). */
static int check_dir(const struct who *w, const char *what, const char *dir, unsigned want,
		     bool may_create, const char *fix, char *err, size_t errlen)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "%s: %s is not a directory", what, dir);
			return VG_ECONFIG;
		}
		return may(w, &st, want) ? 0
					 : deny(w, what, dir, &st,
						want & 4 ? "readable and writable" : "writable",
						fix, err, errlen);
	}
	if (errno != ENOENT || !may_create) {
		snprintf(err, errlen, "%s: %s: %s; %s", what, dir, strerror(errno), fix);
		return VG_ECONFIG;
	}
	char *copy = strdup(dir);
	if (!copy)
		return -ENOMEM;
	const char *parent = dirname(copy);
	int rc = 0;
	if (stat(parent, &st) != 0) {
		snprintf(err, errlen, "%s: %s: %s; %s", what, parent, strerror(errno), fix);
		rc = VG_ECONFIG;
	} else if (!may(w, &st, 3)) {
		rc = deny(w, what, parent, &st, "writable (to create the cache directory)", fix,
			  err, errlen);
	}
	free(copy);
	return rc;
}

int vg_runas_check(const struct vg_config *cfg, char *err, size_t errlen)
{
	struct who w = {.n_groups = 64};
	const char *user = vg_runas_user(cfg, NULL);
	struct passwd *pw = user ? getpwnam(user) : getpwuid(geteuid());
	if (!pw && user) {
		snprintf(err, errlen,
			 "user '%s' does not exist (create it, e.g. systemd-sysusers with the "
			 "installed sysusers.d file, or set user: to an existing one)",
			 user);
		return VG_ECONFIG;
	}
	if (!pw) {
		snprintf(err, errlen, "uid %u has no passwd entry", (unsigned)geteuid());
		return VG_ECONFIG;
	}
	w.name = user ? user : pw->pw_name;
	w.uid = pw->pw_uid;
	if (getgrouplist(pw->pw_name, pw->pw_gid, w.groups, &w.n_groups) < 0)
		w.n_groups = 64; /* more than 64 groups: judge by the first 64 */

	char fix[512];
	const char *cache = cfg->cache_dir;
	if (cache && *cache) {
		snprintf(fix, sizeof(fix),
			 "fix: chown -R %s %s (the systemd unit's CacheDirectory= "
			 "does this)",
			 w.name, cache);
		int rc = check_dir(&w, "cache-dir", cache, 7, true, fix, err, errlen);
		/* files left by a run as another user (root before the service existed) */
		static const char *const files[] = {"data.mdb", "lock.mdb"};
		for (int i = 0; rc == 0 && i < 2; i++) {
			char path[4096];
			struct stat st;
			snprintf(path, sizeof(path), "%s/%s", cache, files[i]);
			if (stat(path, &st) == 0 && !may(&w, &st, 6))
				rc = deny(&w, "cache-dir", path, &st, "readable and writable", fix,
					  err, errlen);
		}
		if (rc < 0)
			return rc;
	}
	const char *sock = cfg->control_socket;
	if (sock && *sock) {
		char *copy = strdup(sock);
		if (!copy)
			return -ENOMEM;
		const char *dir = dirname(copy);
		snprintf(fix, sizeof(fix),
			 "fix: create it owned by %s (the systemd unit's RuntimeDirectory= does "
			 "this, or systemd-tmpfiles --create)",
			 w.name);
		/* vigild binds the socket before dropping privileges and removes it at stop as
		 * the user: that user needs to write the directory */
		int rc = check_dir(&w, "control-socket", dir, 3, false, fix, err, errlen);
		free(copy);
		if (rc < 0)
			return rc;
	}
	return 0;
}
