/*
 * admin.h — subcommands of vws-admin that live in their own files.
 *
 * Each is a row of vws-admin.c's commands[] table: it gets its own argv
 * (argv[0] is the command name) and returns the process exit status.
 */
#ifndef VWS_ADMIN_H
#define VWS_ADMIN_H

/* vws-admin acl check|show ... (client/admin-acl.c): 0 allow, 1 deny,
 * 2 for errors (usage, a broken ACL file). */
int vws_admin_acl(int argc, char **argv);

/* vws-admin images add|list|remove (client/admin-images.c): 0, 1 when
 * the Repository refused or cannot be reached, 2 for usage errors. */
int vws_admin_images(int argc, char **argv);

/* vws-admin policy check ... (client/admin-policy.c): 0 valid file or
 * allowed request, 1 refused by the policy, 2 for errors (usage, a broken
 * policy file). */
int vws_admin_policy(int argc, char **argv);

/* vws-admin hosts [--factory URL] list|drain NAME|remove NAME
 * (client/admin-hosts.c): the Factory's host registry; 0, 1 when the
 * Factory refused or cannot be reached, 2 for usage errors. */
int vws_admin_hosts(int argc, char **argv);

#endif /* VWS_ADMIN_H */
