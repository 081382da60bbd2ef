/* prefork.c - the pool master and its children. The master owns the
 * listening sockets, the shared metrics and the per-child status slots; it
 * forks request children (and one tick child when the service has
 * background work; and the children of its lane, on their own socket at a
 * lower CPU priority, when it declares one), respawns any that exit, and
 * stops them gracefully. Children accept FastCGI requests one at a time.
 * The master never serves a request and holds no database connection
 * once it has forked. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "fcgi_finish.h"
#include "kv.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "prefork.h"
#include "serve.h"
#include "worker.h"

#define METRIC_SLOTS      1024
#define BACKLOG           1024
#define SLOT_TEXT         96
#define STOP_WAIT_MS      30000
#define CRASH_WINDOW      1000 /* a child that dies sooner is respawned after a pause */
#define DB_WAIT_TRIES     30
#define FCGI_IO_TIMEOUT_S 30 /* a FastCGI connection idle this long mid-request is dropped */
#define LANE_LABEL        64

struct worker worker;

/* The pool's listeners: the one of every request child, and its lane's. */
enum { LISTENER_MAIN, LISTENER_LANE, LISTENERS };

struct listener {
	int fd;
	int tcp; /* on TCP: set TCP_NODELAY on connections */
};

struct child {
	pid_t pid;
	int tick;
	int lane; /* a child of the service's lane */
	long long started;
	long long respawn_at;
};

static volatile sig_atomic_t got_term, got_hup, got_chld;
static volatile sig_atomic_t child_stop;
static sigset_t child_waitmask; /* the mask while a child waits: SIGTERM/SIGINT let in */
static struct child *children;
static int nchildren;
static char (*busy_slots)[SLOT_TEXT];
static struct listener listeners[LISTENERS] = {{-1, 0}, {-1, 0}};
/* What a lane child serves: the service with only the lane's routes. */
static struct service lane_svc;

static void on_master_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
}

/* A child asked to stop finishes what it has. SIGTERM and SIGINT are
 * blocked except while the child waits for work (epoll_pwait, ppoll), so
 * the signal can only land between requests, never inside one. */
static void on_child_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

int prefork_parse_listen(const char *listen, char *path, unsigned long pathlen, char *host,
                         unsigned long hostlen, int *port)
{
	path[0] = host[0] = '\0';
	*port = 0;
	if (strncmp(listen, "unix:", 5) == 0) {
		const char *p = listen + 5;
		if (p[0] != '/' || strlen(p) >= pathlen ||
		    strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path))
			return -1;
		memcpy(path, p, strlen(p) + 1);
		return 0;
	}
	const char *colon = strrchr(listen, ':');
	if (colon == NULL || colon == listen || (unsigned long)(colon - listen) >= hostlen)
		return -1;
	char *end;
	long n = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end != '\0' || n < 1 || n > 65535)
		return -1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	*port = (int)n;
	return 0;
}

/* Give the socket to group (nginx's) with mode 0660: only the pool and
 * nginx may connect, not every local user. NULL group: the pool's own. */
static int share_socket(const char *path, const char *group)
{
	if (group && *group) {
		struct group *g = getgrnam(group);
		if (g == NULL) {
			log_error("SOCKET_GROUP is no group here", "group", group);
			return -1;
		}
		if (chown(path, (uid_t)-1, g->gr_gid) < 0) {
			log_error("cannot give the socket to SOCKET_GROUP", "group", group, "error",
			          strerror(errno));
			return -1;
		}
	}
	return chmod(path, 0660);
}

static int listen_unix(const char *path, const char *group)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char lock[sizeof(sa.sun_path) + 8];
	int fd;

	snprintf(lock, sizeof(lock), "%s.lock", path);
	int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		log_error("another pool is serving this socket", "path", path);
		return -1;
	}
	/* lfd stays open for the life of the master: it is the lock */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    share_socket(path, group) < 0 || listen(fd, BACKLOG) < 0) {
		log_error("cannot listen on unix socket", "path", path, "error", strerror(errno));
		return -1;
	}
	return fd;
}

static int listen_tcp(const char *host, int port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	char sport[8];
	int fd = -1, one = 1;

	snprintf(sport, sizeof(sport), "%d", port);
	if (getaddrinfo(host, sport, &hints, &ai) != 0 || ai == NULL) {
		log_error("cannot resolve listen address", "host", host);
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, BACKLOG) < 0) {
		log_error("cannot listen on tcp", "host", host, "port", sport, "error",
		          strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Listen on listen, the address of lane ("main" or the service's lane):
 * 0 or -1. */
static int open_listener(struct listener *l, const char *lane, const char *listen)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], host[256];
	int port;

	if (prefork_parse_listen(listen, path, sizeof(path), host, sizeof(host), &port) < 0) {
		log_error("a listen address must be unix:/absolute/path or host:port", "lane", lane,
		          "listen", listen);
		return -1;
	}
	int fd = path[0] ? listen_unix(path, worker.conf->socket_group) : listen_tcp(host, port);
	/* children wait with epoll and must never block in accept() */
	if (fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		log_error("cannot make the listening socket non-blocking", "error",
		          strerror(errno));
		close(fd);
		return -1;
	}
	l->fd = fd;
	l->tcp = !path[0];
	return fd < 0 ? -1 : 0;
}

static void close_listener(struct listener *l, const char *listen)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], host[256], lock[128];
	int port;

	if (l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	if (prefork_parse_listen(listen, path, sizeof(path), host, sizeof(host), &port) == 0 &&
	    path[0]) {
		unlink(path);
		snprintf(lock, sizeof(lock), "%s.lock", path);
		unlink(lock);
	}
}

static void connect_stores(void)
{
	worker.db = db_new(worker.conf->database_url, worker.conf->db_timeout_ms);
	db_set_pooled(worker.db, worker.conf->db_pooler);
	/* local Redis answers in well under a millisecond: 250 ms means it is
	 * frozen or gone, and a request must not wait on it longer */
	worker.kv = kv_new(worker.conf->redis_url, 250);
}

static void close_stores(void)
{
	db_free(worker.db);
	kv_free(worker.kv);
	worker.db = NULL;
	worker.kv = NULL;
}

static void child_signals(void)
{
	struct sigaction sa = {.sa_handler = on_child_term};
	sigset_t stop;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_SETMASK, &stop, NULL);
	sigemptyset(&child_waitmask);
}

static void run_tick(void)
{
	long ms = worker.svc->tick_ms > 0 ? worker.svc->tick_ms : 1000;
	struct timespec pause = {ms / 1000, (ms % 1000) * 1000000L};

	while (!child_stop) {
		worker.svc->tick(&worker);
		if (!child_stop)
			ppoll(NULL, 0, &pause, &child_waitmask);
	}
}

/* Wait for a connection (or a stop signal) and accept it: the
 * connection, or -1. The listening socket is non-blocking and watched
 * with EPOLLEXCLUSIVE, so one idle child wakes per connection and a child
 * that loses the race gets EAGAIN instead of blocking. */
static int next_connection(const struct listener *l, int ep)
{
	struct epoll_event ev;

	if (epoll_pwait(ep, &ev, 1, -1, &child_waitmask) < 1)
		return -1;
	int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	/* A peer that stops sending mid-request (or stops reading) must not
	 * hold this child forever: libfcgi's reads and writes then fail and
	 * the request ends (400 "Incomplete request body" at most). nginx
	 * buffers a whole body before it connects, so this guards other
	 * clients of the socket; as long as nginx's fastcgi_send_timeout. */
	if (c >= 0) {
		struct timeval tv = {.tv_sec = FCGI_IO_TIMEOUT_S};
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (c >= 0 && l->tcp) {
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return c;
}

/* The child accepts connections itself and hands each to libfcgi to
 * read (ipcFd set; keepConnection keeps FCGX_Accept_r from closing it
 * before it is read), so a stop signal never finds a connection half
 * taken. lane names the lane served in pool_lane_requests_total ("main"
 * or the service's lane); NULL, for a service without one, counts none. */
static void run_requests(const struct listener *l, const char *lane)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.fd = l->fd};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char label[LANE_LABEL];
	FCGX_Request fr;

	if (lane)
		snprintf(label, sizeof(label), "lane=\"%s\"", lane);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev) < 0) {
		log_error("cannot watch the listening socket", "error", strerror(errno));
		return;
	}
	FCGX_InitRequest(&fr, l->fd, 0);
	for (int n = 0; n < worker.conf->max_requests && !child_stop;) {
		int c = next_connection(l, ep);
		if (c < 0)
			continue;
		fr.ipcFd = c;
		fr.keepConnection = 1;
		if (FCGX_Accept_r(&fr) < 0)
			continue; /* the peer left before sending a request */
		serve_request(&worker, &fr);
		/* counted before the answer leaves (fcgi_finish flushes it), as
		 * serve.c counts it: a caller that got it sees it in /metrics */
		if (lane)
			metrics_inc(worker.metrics, "pool_lane_requests_total", label);
		fcgi_finish(&fr);
		n++;
	}
	close(ep);
}

/* Name the process "<service>:tick", "<service>:<lane>" or
 * "<service>:worker" (/proc/<pid>/comm, ps), so an operator can tell the
 * background child and the lane's from request ones. */
static void name_child(const struct child *c)
{
	const char *what = c->tick ? "tick" : c->lane ? worker.svc->lane->name : "worker";
	char name[16];

	snprintf(name, sizeof(name), "%s:%s", worker.svc->name, what);
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

/* Where the kernel groups processes by session (autogroup, the default
 * outside a cgroup with its own CPU weight), a nice value weighs only
 * against the same session's processes, and the pool's session would
 * compete with nginx's and PostgreSQL's at full weight however nice its
 * hashing children are. A session of its own at that nice makes the
 * child yield to them too. Out of the master's process group, the child
 * is killed with its master instead (whoever kills the group). Without
 * autogroups there is no file: nothing more to do. */
static void own_autogroup(const char *nice, pid_t master)
{
	int fd;

	if (setsid() < 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != master)
		_exit(0); /* the master died before the line above */
	fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, nice, strlen(nice)) < 0)
		log_warn("cannot lower the lane's autogroup priority", "nice", nice, "error",
		         strerror(errno));
	close(fd);
}

/* A lane child yields the CPU to the pool's other children (and the rest
 * of the host) and serves only the lane's routes. */
static void enter_lane(pid_t master)
{
	char value[8];

	snprintf(value, sizeof(value), "%d", worker.conf->lane_nice);
	own_autogroup(value, master);
	if (setpriority(PRIO_PROCESS, 0, worker.conf->lane_nice) < 0)
		log_warn("cannot lower the lane's CPU priority", "nice", value, "error",
		         strerror(errno));
	worker.svc = &lane_svc;
}

static void child_main(int idx, pid_t master)
{
	const struct child *c = &children[idx];

	child_signals();
	name_child(c);
	worker.busy_route = busy_slots[idx];
	busy_slots[idx][0] = '\0';
	if (c->lane)
		enter_lane(master);
	connect_stores();
	if (c->tick)
		run_tick();
	else if (c->lane)
		run_requests(&listeners[LISTENER_LANE], worker.svc->lane->name);
	else
		run_requests(&listeners[LISTENER_MAIN], worker.svc->lane ? "main" : NULL);
	close_stores();
	_exit(0);
}

static void spawn(int idx)
{
	pid_t master = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork failed", "error", strerror(errno));
		children[idx].respawn_at = clock_ms() + CRASH_WINDOW;
		return;
	}
	if (pid == 0)
		child_main(idx, master);
	children[idx].pid = pid;
	children[idx].started = clock_ms();
	children[idx].respawn_at = 0;
}

static void log_exit(int idx, int status)
{
	char pid[16], code[16];
	const char *route = busy_slots[idx][0] ? busy_slots[idx] : "";

	snprintf(pid, sizeof(pid), "%ld", (long)children[idx].pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		log_info("worker exited", "child", pid);
		return;
	}
	if (WIFSIGNALED(status))
		snprintf(code, sizeof(code), "signal %d", WTERMSIG(status));
	else
		snprintf(code, sizeof(code), "exit %d", WEXITSTATUS(status));
	log_error("worker died", "child", pid, "how", code, "route", route);
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int i = 0; i < nchildren; i++) {
			if (children[i].pid != pid)
				continue;
			log_exit(i, status);
			int fast = clock_ms() - children[i].started < CRASH_WINDOW &&
			           !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			children[i].pid = 0;
			children[i].respawn_at = fast ? clock_ms() + CRASH_WINDOW : clock_ms();
			busy_slots[i][0] = '\0';
		}
	}
}

static void signal_children(int sig)
{
	for (int i = 0; i < nchildren; i++)
		if (children[i].pid > 0)
			kill(children[i].pid, sig);
}

static int live_children(void)
{
	int n = 0;
	for (int i = 0; i < nchildren; i++)
		n += children[i].pid > 0;
	return n;
}

static void stop_children(void)
{
	long long deadline = clock_ms() + STOP_WAIT_MS;
	struct timespec pause = {0, 20 * 1000000L};

	signal_children(SIGTERM);
	while (live_children() > 0 && clock_ms() < deadline) {
		reap();
		if (live_children() > 0)
			nanosleep(&pause, NULL);
	}
	if (live_children() > 0) {
		log_warn("workers did not stop in time; killing them");
		signal_children(SIGKILL);
		while (live_children() > 0 && waitpid(-1, NULL, 0) > 0)
			reap();
	}
}

static void respawn_due(void)
{
	long long now = clock_ms();

	for (int i = 0; i < nchildren; i++)
		if (children[i].pid == 0 && children[i].respawn_at <= now)
			spawn(i);
}

static void master_loop(const sigset_t *waitmask)
{
	struct timespec tick = {0, 200 * 1000000L};

	respawn_due();
	while (!got_term) {
		pselect(0, NULL, NULL, NULL, &tick, waitmask);
		if (got_chld) {
			got_chld = 0;
			reap();
		}
		if (got_hup) {
			got_hup = 0;
			log_info("re-forking workers on SIGHUP");
			signal_children(SIGTERM);
		}
		if (!got_term)
			respawn_due();
	}
	log_info("stopping: waiting for in-flight requests");
	stop_children();
}

static void master_signals(sigset_t *waitmask)
{
	struct sigaction sa = {.sa_handler = on_master_signal};
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, waitmask);
	sigdelset(waitmask, SIGTERM);
	sigdelset(waitmask, SIGINT);
	sigdelset(waitmask, SIGHUP);
	sigdelset(waitmask, SIGCHLD);
}

/* Give PostgreSQL up to DB_WAIT_TRIES seconds to answer. */
static void wait_db(void)
{
	for (int i = 0; i < DB_WAIT_TRIES && db_ping(worker.db) < 0; i++)
		sleep(1);
}

/* Migrations and the service's start hook, retrying while PostgreSQL
 * comes up (a stack starting all at once). */
static int prepare(const struct service *svc)
{
	int rc = -1;

	connect_stores();
	wait_db();
	if (db_migrate_all(worker.db, worker.conf->migrations_dir, svc->schemas) >= 0 &&
	    (svc->start == NULL || svc->start(&worker) == 0))
		rc = 0;
	close_stores();
	return rc;
}

/* The children: conf->workers request ones, then the lane's, then the
 * tick child. */
static int setup_shared(int lane_workers)
{
	int n = worker.conf->workers + lane_workers + (worker.svc->tick != NULL);

	worker.metrics = metrics_new(METRIC_SLOTS);
	busy_slots = mmap(NULL, (size_t)n * SLOT_TEXT, PROT_READ | PROT_WRITE,
	                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	children = calloc((size_t)n, sizeof(*children));
	if (worker.metrics == NULL || busy_slots == MAP_FAILED || children == NULL)
		return -1;
	nchildren = n;
	for (int i = 0; i < lane_workers; i++)
		children[worker.conf->workers + i].lane = 1;
	children[n - 1].tick = worker.svc->tick != NULL;
	return 0;
}

static int lane_serves(const struct service_lane *lane, const struct route *r)
{
	size_t m = strlen(r->method);

	for (const char *const *name = lane->routes; *name; name++)
		if (strncmp(*name, r->method, m) == 0 && (*name)[m] == ' ' &&
		    strcmp(*name + m + 1, r->pattern) == 0)
			return 1;
	return 0;
}

struct route *prefork_lane_routes(const struct service *svc)
{
	size_t n = 0, found = 0, named = 0;
	struct route *out;

	while (svc->routes[n].method)
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (lane_serves(svc->lane, &svc->routes[i]))
			out[found++] = svc->routes[i];
	while (svc->lane->routes[named])
		named++;
	if (found == 0 || found != named) {
		free(out);
		return NULL;
	}
	return out;
}

/* The lane's own view of the service (lane_svc); 0, or -1 when it names
 * a route the service does not have. */
static int prepare_lane(const struct service *svc)
{
	struct route *routes = prefork_lane_routes(svc);

	if (routes == NULL) {
		log_error("the lane names a route the service does not have", "lane",
		          svc->lane->name);
		return -1;
	}
	lane_svc = *svc;
	lane_svc.routes = routes; /* for the life of the pool */
	return 0;
}

/* Open the listeners (the lane's first: a caller that waits for LISTEN
 * finds both), fork the children and serve until told to stop. */
static int run_pool(const struct service *svc, const struct conf *conf)
{
	sigset_t waitmask;
	int lane_workers = svc->lane ? conf->lane_workers : 0;
	int rc = -1;

	if (svc->lane &&
	    (prepare_lane(svc) < 0 ||
	     open_listener(&listeners[LISTENER_LANE], svc->lane->name, conf->lane_listen) < 0))
		goto out;
	if (open_listener(&listeners[LISTENER_MAIN], "main", conf->listen) < 0 ||
	    FCGX_Init() != 0 || setup_shared(lane_workers) < 0)
		goto out;
	master_signals(&waitmask);
	if (svc->lane)
		log_info("pool started", "listen", conf->listen, "lane", svc->lane->name,
		         "lane_listen", conf->lane_listen);
	else
		log_info("pool started", "listen", conf->listen);
	master_loop(&waitmask);
	rc = 0;
out:
	close_listener(&listeners[LISTENER_MAIN], conf->listen);
	if (svc->lane)
		close_listener(&listeners[LISTENER_LANE], conf->lane_listen);
	return rc;
}

/* --settings: what the pool reads (the script passes it only those). */
static int describe(const struct service *svc)
{
	struct buf out;

	buf_init(&out);
	conf_describe(svc, &out);
	fputs(buf_str(&out), stdout);
	buf_release(&out);
	return 0;
}

/* --migrate: apply the database's migrations and exit, so a one-shot
 * deployment step needs no serving pool. 0, or 1 with a message. */
static int migrate(const struct service *svc)
{
	int rc = 0;

	worker.db = db_new(worker.conf->database_url, worker.conf->db_timeout_ms);
	db_set_pooled(worker.db, worker.conf->db_pooler);
	wait_db();
	if (db_migrate_all(worker.db, worker.conf->migrations_dir, svc->schemas) < 0) {
		fprintf(stderr, "flightops-%s: the migrations of %s failed\n", svc->name,
		        worker.conf->migrations_dir);
		rc = 1;
	}
	db_free(worker.db);
	worker.db = NULL;
	return rc;
}

int prefork_main(const struct service *svc, int argc, char **argv)
{
	static struct conf conf;
	struct buf errors;
	int check_only = argc > 1 && strcmp(argv[1], "--check") == 0;
	int migrate_only = argc > 1 && strcmp(argv[1], "--migrate") == 0;

	if (argc > 1 && strcmp(argv[1], "--settings") == 0)
		return describe(svc);
	if (argc > 1 && !check_only && !migrate_only) {
		fprintf(stderr, "usage: flightops-%s [--settings | --check | --migrate]\n",
		        svc->name);
		return 2;
	}
	log_init(svc->name, LOG_LVL_INFO);
	buf_init(&errors);
	int bad = conf_load(&conf, svc, conf_getenv, &errors) < 0;
	if (bad)
		fprintf(stderr, "flightops-%s: the configuration is not valid:\n%s", svc->name,
		        buf_str(&errors));
	buf_release(&errors);
	if (bad || check_only) {
		conf_release(&conf, svc);
		return bad ? 2 : 0;
	}
	log_init(svc->name, (enum log_level)conf.log_level);
	if (svc->max_workers > 0 && conf.workers > svc->max_workers)
		conf.workers = svc->max_workers;
	worker.conf = &conf;
	worker.svc = svc;
	worker.settings = svc->settings_data;
	if (migrate_only)
		return migrate(svc);
	struct kv_url ku;
	if (kv_parse_url(conf.redis_url, &ku) < 0) {
		fprintf(stderr,
		        "flightops-%s: REDIS_URL: must be redis://[:password@]host[:port][/db]\n",
		        svc->name);
		return 2;
	}
	if (prepare(svc) < 0 || run_pool(svc, &conf) < 0)
		return 1;
	log_info("pool stopped");
	return 0;
}
