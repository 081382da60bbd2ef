/* floor_pool.h - the tiny prefork master shared by the bench floors.
 * Not the product's prefork: no respawn, no SIGHUP, no config. */
#ifndef FO_FLOOR_POOL_H
#define FO_FLOOR_POOL_H

/* Open a FastCGI unix socket at path (mode 0666), fork children that each
 * run init(arg) once and then serve(sock, arg) forever, wait for SIGTERM
 * or SIGINT, stop the children, remove the socket. Returns the exit status. */
int floor_pool_run(const char *path, int children, int (*init)(void *arg),
                   void (*serve)(int sock, void *arg), void *arg);

#endif
