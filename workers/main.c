/* main.c - every pool binary: the prefork master serving the service
 * named at build time (FO_SERVICE, e.g. bookings_service, which the
 * service declares in workers/<svc>/service.c). */
#include "prefork.h"
#include "service.h"

extern const struct service FO_SERVICE;

int main(int argc, char **argv)
{
	return prefork_main(&FO_SERVICE, argc, argv);
}
