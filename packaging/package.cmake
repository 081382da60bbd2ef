# packaging/package.cmake - the install rules and the Debian package (CPack
# DEB) of a FlightOps host. Included once from CMakeLists.txt, after the
# pools are defined; `./flightops package` builds the .deb with it.
#
#   /usr/lib/flightops/             flightops-<pool>, flightops-pool (the units' launcher)
#   /usr/sbin/flightops-migrate     every service's --migrate with its unit's configuration
#   /usr/share/flightops/sql/       <db>/NNN_*.sql (+ seed.sql), shared/<schema>/
#   /usr/share/flightops/www/       openapi.json, docs/ and app/ (when web/docs/build.sh
#                                   and web/app/build.sh filled them)
#   /usr/lib/systemd/system/        flightops@.service, flightops-mailer.service, flightops.target
#   /etc/flightops/                 flightops.conf, <pool>.conf (conffiles, from --settings)
#   /etc/nginx/sites-available/flightops, /etc/nginx/snippets/flightops-*.conf
#   /etc/logrotate.d/flightops
#
# The nginx files are the dev stack's templates (nginx/*.in) rendered with
# other values for the same @KEY@ placeholders ./flightops's render() fills.
# Paths are the Debian layout, also for `cmake --install` (use DESTDIR).

set(FO_PKG_DIR ${CMAKE_BINARY_DIR}/packaging)
set(FO_PKG_LIB /usr/lib/flightops)
set(FO_PKG_SHARE /usr/share/flightops)
set(FO_PKG_RUN /run/flightops)

# The words of the bash array NAME=(...) of ./flightops, into out.
function(fo_script_array name out)
	file(STRINGS ${PROJECT_SOURCE_DIR}/flightops line REGEX "^${name}=\\(")
	string(REGEX REPLACE "^${name}=\\(([^)]*)\\).*" "\\1" line "${line}")
	separate_arguments(words UNIX_COMMAND "${line}")
	set(${out} "${words}" PARENT_SCOPE)
endfunction()
# The pools in port order: POOLS of ./flightops, the one list of them.
fo_script_array(POOLS FO_POOLS)
# The pools' second lanes of children, POOL:LANE: LANES of ./flightops.
fo_script_array(LANES FO_LANES)
# The database (and sql/ folder) each pool works on: the mailer sends the
# notifications service's queue.
foreach(pool IN LISTS FO_POOLS)
	set(FO_DB_${pool} ${pool})
endforeach()
set(FO_DB_mailer notifications)

# ---- nginx: the same templates as the dev stack ---------------------------

# Render TEMPLATE into OUT with the variables of the caller's scope; a
# placeholder this file does not give a value is an error, as in render().
function(fo_render template out)
	file(READ ${PROJECT_SOURCE_DIR}/nginx/${template} text)
	string(REGEX MATCHALL "@[A-Z_]+@" keys "${text}")
	foreach(key IN LISTS keys)
		string(REGEX REPLACE "@" "" key "${key}")
		if(NOT DEFINED ${key})
			message(FATAL_ERROR "nginx/${template}: placeholder @${key}@ has no value in packaging/package.cmake")
		endif()
	endforeach()
	string(CONFIGURE "${text}" text @ONLY)
	file(WRITE ${out} "${text}")
endfunction()

set(INCLUDE /etc/nginx/snippets/flightops-)
set(WWW ${FO_PKG_SHARE}/www)
set(ACCESS_LOG /var/log/nginx/flightops-access.log)
# The gateway on every address; the per-service ports, which the pools
# call each other on (their <PEER>_URL defaults), on loopback only.
set(GATEWAY_LISTEN 8080)
set(LISTEN_HOST 127.0.0.1)
# The live seat map's Nchan publisher (bookings' LIVE_PUBLISH_URL default),
# on loopback too.
set(LIVE_PUBLISH_PORT 8090)
# The gateway's read cache (nginx creates the folder, as its user).
set(CACHE_DIR /var/lib/nginx/flightops-reads)
list(JOIN FO_POOLS "|" POOLS_RE)

set(fo_nginx ${FO_PKG_DIR}/nginx)
fo_render(site.conf.in ${fo_nginx}/sites-available/flightops)
fo_render(server.conf.in ${fo_nginx}/snippets/flightops-server.conf)
fo_render(gateway-fastcgi.conf ${fo_nginx}/snippets/flightops-gateway-fastcgi.conf)
fo_render(fastcgi.conf ${fo_nginx}/snippets/flightops-fastcgi.conf)
fo_render(errors.conf ${fo_nginx}/snippets/flightops-errors.conf)
fo_render(read-cache.conf ${fo_nginx}/snippets/flightops-read-cache.conf)
set(fo_pools_conf "")
set(PORT 8000)
foreach(POOL IN LISTS FO_POOLS)
	# This host's socket; an admin adds a line per other host running the
	# pool (LISTEN=host:port there) to /etc/nginx/snippets/flightops-pools.conf
	# and reloads nginx (README, "Adding hosts").
	set(POOL_SERVERS "\tserver unix:${FO_PKG_RUN}/${POOL}.sock max_fails=1 fail_timeout=5s;")
	fo_render(pool.conf.in ${fo_nginx}/pool-${POOL}.conf)
	file(READ ${fo_nginx}/pool-${POOL}.conf text)
	string(APPEND fo_pools_conf "${text}")
	# Its lane's socket (<LANE>_LISTEN derived from the unit's LISTEN);
	# the line per other host goes here too (its port + 100).
	foreach(fo_lane IN LISTS FO_LANES)
		string(REGEX REPLACE ":.*" "" fo_lane_pool "${fo_lane}")
		string(REGEX REPLACE "^[^:]*:" "" LANE "${fo_lane}")
		if(fo_lane_pool STREQUAL POOL)
			set(LANE_SERVERS
				"\tserver unix:${FO_PKG_RUN}/${POOL}-${LANE}.sock max_fails=1 fail_timeout=5s;")
			fo_render(lane.conf.in ${fo_nginx}/lane-${POOL}-${LANE}.conf)
			file(READ ${fo_nginx}/lane-${POOL}-${LANE}.conf text)
			string(APPEND fo_pools_conf "${text}")
		endif()
	endforeach()
	math(EXPR PORT "${PORT} + 1")
endforeach()
file(WRITE ${fo_nginx}/snippets/flightops-pools.conf "${fo_pools_conf}")
# Re-run when a template changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
	${PROJECT_SOURCE_DIR}/flightops
	${PROJECT_SOURCE_DIR}/nginx/site.conf.in ${PROJECT_SOURCE_DIR}/nginx/server.conf.in
	${PROJECT_SOURCE_DIR}/nginx/pool.conf.in ${PROJECT_SOURCE_DIR}/nginx/lane.conf.in
	${PROJECT_SOURCE_DIR}/nginx/gateway-fastcgi.conf
	${PROJECT_SOURCE_DIR}/nginx/fastcgi.conf ${PROJECT_SOURCE_DIR}/nginx/errors.conf
	${PROJECT_SOURCE_DIR}/nginx/read-cache.conf)

install(FILES ${fo_nginx}/sites-available/flightops DESTINATION /etc/nginx/sites-available)
install(DIRECTORY ${fo_nginx}/snippets/ DESTINATION /etc/nginx/snippets)

# ---- /etc/flightops: generated from each pool's --settings -----------------

set(fo_conf_files ${FO_PKG_DIR}/etc/flightops.conf)
set(fo_conf_args "")
set(fo_pool_targets "")
foreach(pool IN LISTS FO_POOLS)
	list(APPEND fo_conf_files ${FO_PKG_DIR}/etc/${pool}.conf)
	list(APPEND fo_conf_args ${pool}=${FO_DB_${pool}})
	list(APPEND fo_pool_targets flightops-${pool})
endforeach()
add_custom_command(OUTPUT ${fo_conf_files}
	COMMAND bash ${PROJECT_SOURCE_DIR}/packaging/gen-conf ${CMAKE_BINARY_DIR}/bin
		${FO_PKG_DIR}/etc ${fo_conf_args}
	DEPENDS ${fo_pool_targets} ${PROJECT_SOURCE_DIR}/packaging/gen-conf
	COMMENT "Generating /etc/flightops files from the pools' --settings")
add_custom_target(flightops_conf ALL DEPENDS ${fo_conf_files})
# Secrets live in them (database and Redis URLs, passwords): root:flightops
# 640 once the postinst has made the group.
install(FILES ${fo_conf_files} DESTINATION /etc/flightops
	PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)

# ---- programs, data, units ---------------------------------------------------

install(TARGETS ${fo_pool_targets} RUNTIME DESTINATION ${FO_PKG_LIB})
install(PROGRAMS packaging/flightops-pool DESTINATION ${FO_PKG_LIB})
install(PROGRAMS packaging/flightops-migrate DESTINATION /usr/sbin)
install(DIRECTORY sql/ DESTINATION ${FO_PKG_SHARE}/sql FILES_MATCHING PATTERN "*.sql")
install(FILES openapi.json DESTINATION ${FO_PKG_SHARE}/www)
# /docs: what web/docs/build.sh put there (./flightops package runs it).
install(DIRECTORY ${FO_PKG_DIR}/www/docs DESTINATION ${FO_PKG_SHARE}/www OPTIONAL)
# The web app (/): what web/app/build.sh put there (./flightops package runs it).
install(DIRECTORY ${FO_PKG_DIR}/www/app DESTINATION ${FO_PKG_SHARE}/www OPTIONAL)
install(FILES packaging/flightops@.service packaging/flightops-mailer.service
	packaging/flightops.target DESTINATION /usr/lib/systemd/system)
install(FILES packaging/logrotate DESTINATION /etc/logrotate.d RENAME flightops)
install(FILES README.md docs/ARCHITECTURE.md DESTINATION /usr/share/doc/flightops)

# ---- the package -------------------------------------------------------------

# Every file under /etc is the admin's once installed (dpkg keeps their edits).
set(fo_conffiles "")
foreach(file IN LISTS fo_conf_files)
	get_filename_component(name ${file} NAME)
	string(APPEND fo_conffiles "/etc/flightops/${name}\n")
endforeach()
file(GLOB fo_snippets RELATIVE ${fo_nginx}/snippets ${fo_nginx}/snippets/*.conf)
list(SORT fo_snippets)
string(APPEND fo_conffiles "/etc/nginx/sites-available/flightops\n")
foreach(name IN LISTS fo_snippets)
	string(APPEND fo_conffiles "/etc/nginx/snippets/${name}\n")
endforeach()
string(APPEND fo_conffiles "/etc/logrotate.d/flightops\n")
file(WRITE ${FO_PKG_DIR}/control/conffiles "${fo_conffiles}")
foreach(script postinst prerm postrm)
	configure_file(packaging/${script} ${FO_PKG_DIR}/control/${script} COPYONLY)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME flightops)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "FlightOps maintainers <flightops@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "flight-booking REST backend: FastCGI pools behind nginx")
# CPack puts the summary first and indents these lines under it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "FlightOps serves accounts, the flight schedule, seat bookings, card payments
and e-mail notifications: one prefork FastCGI pool per service, each with
its own PostgreSQL database, sharing one Redis, behind an nginx site. This
package uses the host's own PostgreSQL, Redis and SMTP server; it starts
nothing until they are configured in /etc/flightops.")
set(CPACK_DEBIAN_PACKAGE_SECTION web)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The site's live seat map needs Nchan; Debian's package enables itself in
# /etc/nginx/modules-enabled (a site cannot load a module).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libnginx-mod-nchan, libnginx-mod-http-cache-purge")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx, logrotate")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "postgresql, redis-server, postgresql-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${FO_PKG_DIR}/control/conffiles
	${FO_PKG_DIR}/control/postinst ${FO_PKG_DIR}/control/prerm ${FO_PKG_DIR}/control/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
include(CPack)
