/* floor_pool.c - the tiny prefork master shared by the bench floors.
 * It exists so that the floors measure libfcgi (and libpq), not a master:
 * children are forked once and never replaced. */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "floor_pool.h"

#define CHILDREN_MAX 64

static pid_t spawn(int sock, int (*init)(void *), void (*serve)(int, void *), void *arg)
{
	pid_t pid = fork();
	sigset_t none;

	if (pid != 0)
		return pid;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (init && init(arg) != 0)
		_exit(1);
	serve(sock, arg);
	_exit(0);
}

int floor_pool_run(const char *path, int children, int (*init)(void *arg),
                   void (*serve)(int sock, void *arg), void *arg)
{
	pid_t pids[CHILDREN_MAX];
	sigset_t set;
	int sock, sig, i;

	if (children < 1 || children > CHILDREN_MAX) {
		fprintf(stderr, "floor: children must be 1..%d\n", CHILDREN_MAX);
		return 2;
	}
	if (FCGX_Init() != 0)
		return 1;
	sock = FCGX_OpenSocket(path, 1024);
	if (sock < 0 || chmod(path, 0666) != 0) {
		perror("floor: socket");
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (i = 0; i < children; i++) {
		pids[i] = spawn(sock, init, serve, arg);
		if (pids[i] < 0) {
			perror("floor: fork");
			children = i;
			break;
		}
	}
	sigwait(&set, &sig);
	for (i = 0; i < children; i++)
		kill(pids[i], SIGTERM);
	for (i = 0; i < children; i++)
		waitpid(pids[i], NULL, 0);
	unlink(path);
	return 0;
}
