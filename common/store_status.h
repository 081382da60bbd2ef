/* store_status.h - the result codes every service store returns, so handlers
 * can tell "not there" and "conflicts" from "broken" without SQL. */
#ifndef FO_STORE_STATUS_H
#define FO_STORE_STATUS_H

enum store_status {
	STORE_OK = 0,
	STORE_NOT_FOUND,
	STORE_CONFLICT,
	STORE_ERROR,
};

#endif
