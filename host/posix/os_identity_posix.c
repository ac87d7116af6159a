/*
 * os_identity_posix.c - serving as an unprivileged account (see os.h, "identity").
 *
 * The server starts as root to bind ports below 1024, then gives root up for good before
 * any filter is loaded, in the order that leaves no way back: the supplementary groups
 * first (setgroups, which needs root), then the group (setgid, also needs root), then the
 * user (setuid, after which nothing else could be changed). Each call is checked, and so
 * is the result: the real, effective and saved ids are the account's, and setuid(0) fails.
 * getpwnam/getgrnam are not thread-safe; this runs before any thread starts.
 */
#define _DEFAULT_SOURCE   /* setgroups */
#include "os.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

int plat_identity_is_root(void)
{
    return geteuid() == 0;
}

void plat_identity_name(char *out, size_t cap)
{
    struct passwd *pw = getpwuid(geteuid());
    if (pw)
        snprintf(out, cap, "%s", pw->pw_name);
    else
        snprintf(out, cap, "uid %lu", (unsigned long)geteuid());
}

int plat_identity_drop(const char *user, const char *group, char *err, size_t errlen)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "no such user '%s'%s%s", user, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    if (group && group[0]) {
        errno = 0;
        struct group *gr = getgrnam(group);
        if (!gr) {
            snprintf(err, errlen, "no such group '%s'", group);
            return -1;
        }
        gid = gr->gr_gid;
    }
    if (uid == 0) {
        snprintf(err, errlen, "'%s' is root: name an unprivileged account (or set "
                 "run_as_root = yes and no user)", user);
        return -1;
    }
    if (geteuid() != 0) {
        /* Not root: nothing to give up; only the account we already are is accepted. */
        if (getuid() == uid && geteuid() == uid && getegid() == gid)
            return 0;
        snprintf(err, errlen, "switching to '%s' needs root (running as uid %lu)", user,
                 (unsigned long)geteuid());
        return -1;
    }
    if (setgroups(1, &gid) != 0) {
        snprintf(err, errlen, "setgroups: %s", strerror(errno));
        return -1;
    }
    if (setgid(gid) != 0) {
        snprintf(err, errlen, "setgid(%lu): %s", (unsigned long)gid, strerror(errno));
        return -1;
    }
    if (setuid(uid) != 0) {
        snprintf(err, errlen, "setuid(%lu): %s", (unsigned long)uid, strerror(errno));
        return -1;
    }
    if (getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
        snprintf(err, errlen, "the ids did not change as asked");
        return -1;
    }
    if (setuid(0) == 0) {
        snprintf(err, errlen, "root could be regained after setuid(%lu)", (unsigned long)uid);
        return -1;
    }
    return 0;
}
