-- Run once by the mariadb image on first start (docker/compose.yaml).
-- Same rights as tests/servers.sh gives: ALL on *.* (includes SUPER,
-- PROCESS, CONNECTION ADMIN, CREATE ROUTINE) so tests can KILL other
-- connections and create procedures.
GRANT ALL PRIVILEGES ON *.* TO 'uvodbc'@'%' WITH GRANT OPTION;
GRANT SUPER, PROCESS, CONNECTION ADMIN ON *.* TO 'uvodbc'@'%';
FLUSH PRIVILEGES;
