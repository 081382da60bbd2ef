/* main.c - the users pool: its route table, then the prefork master. */
#include "prefork.h"
#include "route.h"
#include "users.h"
#include "worker.h"

static const struct route routes[] = {
        {"POST", "/register", users_register, 0},
        {"POST", "/token", users_token, 0},
        {"GET", "/users/me", users_me, ROUTE_USER},
        {"GET", "/users/:id", users_get, ROUTE_ADMIN | ROUTE_SERVICE},
        {"GET", "/internal/users/:id", users_get, ROUTE_SERVICE},
        {NULL, NULL, NULL, 0},
};

static const struct service users_service = {
        .name = "users",
        .health_name = "user-service",
        .routes = routes,
        .start = users_bootstrap,
};

int main(int argc, char **argv)
{
	return prefork_main(&users_service, argc, argv);
}
