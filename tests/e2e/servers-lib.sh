# shellcheck shell=bash
# servers-lib.sh - sourced by the services end-to-end scripts (after lib.sh):
# private instances of the real nginx, haproxy, postfix and dovecot of
# Debian 12, each in a directory of the caller's, on 127.0.0.1 ports of the
# caller's, serving certificate files of the caller's; started, reloaded,
# asked for the certificate they serve, and stopped.  Not a test itself.
#
#   srv_nginx_start   DIR PORT CHAIN KEY [SERVER_NAME]
#   srv_haproxy_start DIR PORT PEM          (PEM: certificate and key)
#   srv_postfix_start DIR PORT CHAIN KEY    (smtpd with STARTTLS)
#   srv_dovecot_start DIR IMAP_PORT POP_PORT CHAIN KEY   (STARTTLS both)
#   srv_served_thumb  PROTO HOST PORT SNI   (PROTO: tls, smtp, imap, pop3)
#   srv_SERVER_stop DIR, srv_stop_all
#
# Starts print nothing and return 0 once every port accepts; otherwise they
# print the reason and the server's log to stderr and return 1 (the caller
# still calls stop: a half-started server is stopped like any other).
# srv_SERVER_test_cmd / _reload_cmd DIR print the exact command line that
# config-tests / reloads that instance, for certfleetd's service
# configuration (one line, words split on blanks: DIR must have none).
#
# Nothing here touches the system's own instances, their configuration or
# their ports: every file a server writes, pid files and logs included, is
# under DIR (postfix and dovecot also read their packages' own metadata
# under /etc, never /etc/postfix/main.cf or /etc/dovecot/dovecot.conf).
# File arguments are made absolute, never resolved: a symlink stays one.
#
# Stopping: each start records the server's process group in DIR/.srv-pgid
# (the masters are group leaders); stop sends SIGTERM to the group, waits
# for all of it to go (SRV_TIMEOUT seconds, default 10), then SIGKILLs
# what is left.  Stops are safe to call twice and on a server never
# started.  srv_stop_all stops every instance started by this shell (not
# by a subshell: call srv_SERVER_stop DIR for those); a test's EXIT trap
# calls it BEFORE removing $T, as lib.sh's own trap would:
#   trap 'srv_stop_all; rm -rf "$T"' EXIT
#
# Unix sockets (haproxy's admin.sock, dovecot's sockets in DIR/run) take
# at most 107 bytes: DIR must be short (under /tmp, as $T is).  postfix's
# daemons drop to the postfix user before they open files in DIR, so
# srv_postfix_start makes DIR and its ancestors searchable (o+x, never
# readable) by others: $T goes from 0700 to 0711.

: "${SRV_TIMEOUT:=10}"
SRV_DIRS=() # every DIR started, for srv_stop_all
# A command prefix nginx is started with, e.g. (setpriv --reuid=nobody
# --regid=nogroup --clear-groups) to run it unprivileged (the demo).
[ "${SRV_AS+set}" = set ] || SRV_AS=()

# --- common ------------------------------------------------------------

# srv__abs PATH - PATH made absolute against $PWD, symlinks kept.
srv__abs() {
	case $1 in
	/*) printf '%s\n' "$1" ;;
	*) printf '%s\n' "$PWD/$1" ;;
	esac
}

# srv__mkdir DIR - creates DIR, prints it absolute; refuses blanks.
srv__mkdir() {
	local d
	case $1 in
	*[[:space:]]*)
		echo "servers-lib: directory '$1' has blanks" >&2
		return 1
		;;
	esac
	mkdir -p "$1" || return 1
	d=$(cd "$1" && pwd) || return 1
	printf '%s\n' "$d"
}

# srv__usage WANT GOT USAGE - 2, with the usage, when fewer than WANT args.
srv__usage() {
	[ "$2" -ge "$1" ] && return 0
	echo "servers-lib: usage: $3" >&2
	return 2
}

# srv__alive PID - PID is a process, and not a zombie.  (PID 1 of this
# machine reaps orphans late: a stopped daemon may linger as a zombie.)
srv__alive() {
	local st
	[ -n "$1" ] || return 1
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in
	Z* | "") return 1 ;;
	esac
	return 0
}

# srv__group PGID - prints the live (non-zombie) processes of group PGID.
srv__group() {
	ps -e -o pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'
}

# srv_wait_port HOST PORT [SECONDS] - waits until HOST:PORT accepts a TCP
# connection (SRV_TIMEOUT seconds by default); 1 when it never did.
srv_wait_port() {
	local host=$1 port=$2 n
	n=$((${3:-$SRV_TIMEOUT} * 20))
	while [ "$n" -gt 0 ]; do
		if timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# srv__record DIR PIDFILE - after a start: records the master's process
# group in DIR/.srv-pgid, for stop.  1 when there is no live master.
srv__record() {
	local dir=$1 pid pgid n=$((SRV_TIMEOUT * 20))
	while [ "$n" -gt 0 ]; do
		pid=$(tr -dc '0-9' <"$2" 2>/dev/null)
		srv__alive "$pid" && break
		sleep 0.05
		n=$((n - 1))
	done
	srv__alive "$pid" || return 1
	pgid=$(ps -o pgid= -p "$pid" | tr -dc '0-9')
	# The daemons all call setsid(); were one not to, its group would be
	# ours, and stop would kill the test: record the master alone then.
	[ "$pgid" = "$pid" ] || pgid=
	echo "$pid ${pgid:-}" >"$dir/.srv-pgid"
	case " ${SRV_DIRS[*]} " in
	*" $dir "*) ;;
	*) SRV_DIRS+=("$dir") ;;
	esac
}

# srv__stop DIR - stops what srv__record recorded: SIGTERM to the group
# (or to the master alone when it leads none), SRV_TIMEOUT seconds for
# them to go, then SIGKILL to what is left.
srv__stop() {
	local dir=$1 pid='' pgid='' left n=$((SRV_TIMEOUT * 20))
	[ -d "$dir" ] || return 0
	dir=$(cd "$dir" && pwd) || return 0
	[ -r "$dir/.srv-pgid" ] || return 0
	read -r pid pgid <"$dir/.srv-pgid"
	# The whole group at once, as systemd does (dovecot's master alone
	# takes a second to wind its children down).
	if [ -n "$pgid" ] && [ -n "$(srv__group "$pgid")" ]; then
		kill -TERM -- "-$pgid" 2>/dev/null
	elif srv__alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
	fi
	while [ "$n" -gt 0 ]; do
		if [ -n "$pgid" ]; then
			left=$(srv__group "$pgid")
		else
			srv__alive "$pid" && left=$pid || left=
		fi
		[ -z "$left" ] && break
		sleep 0.05
		n=$((n - 1))
	done
	if [ -n "$left" ]; then
		echo "servers-lib: $dir: still running after ${SRV_TIMEOUT}s, killing: $(echo "$left" | tr '\n' ' ')" >&2
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL $left 2>/dev/null
		sleep 0.2
	fi
	rm -f "$dir/.srv-pgid"
	return 0
}

# srv__fail DIR WHAT LOG - prints why a start failed, and LOG's tail.
srv__fail() {
	echo "servers-lib: $1: $2" >&2
	[ -s "$3" ] && tail -n 15 "$3" | sed 's/^/    | /' >&2
	return 1
}

# srv_served_thumb PROTO HOST PORT SNI - prints the SHA-1 thumbprint
# (upper-case hex, no colons: the certfleet thumbprint) of the leaf that
# HOST:PORT presents.  PROTO is tls (or https) for TLS from the first
# byte, smtp, imap or pop3 for STARTTLS.  1, printing nothing, when no
# certificate came (refused, no STARTTLS, failed handshake).  Each call is
# a new connection (so a new smtpd / login process on the server side).
srv_served_thumb() {
	srv__usage 4 $# "srv_served_thumb PROTO HOST PORT SNI" || return
	local proto=$1 host=$2 port=$3 sni=$4 starttls=() pem
	case $proto in
	tls | https) ;;
	smtp | imap | pop3) starttls=(-starttls "$proto") ;;
	*)
		echo "servers-lib: srv_served_thumb: unknown protocol '$proto'" >&2
		return 2
		;;
	esac
	pem=$(timeout 10 openssl s_client -connect "$host:$port" -servername "$sni" \
		"${starttls[@]}" </dev/null 2>/dev/null |
		sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p')
	[ -n "$pem" ] || return 1
	printf '%s\n' "$pem" | openssl x509 -noout -fingerprint -sha1 |
		sed 's/^.*=//; s/://g' | tr 'a-f' 'A-F'
}

# srv_stop_all - stops every instance this shell started (for EXIT traps).
srv_stop_all() {
	local d
	for d in "${SRV_DIRS[@]}"; do
		srv__stop "$d"
	done
	return 0
}

# --- nginx ---------------------------------------------------------------
# DIR/nginx.conf: daemon, master and one worker (as nobody), pid file,
# error log and temp paths in DIR; one server on 127.0.0.1:PORT ssl that
# answers 200 "ok".  -e puts nginx's own early messages (the "signal
# process started" notice of -s reload) in DIR/error.log; errors still go
# to stderr as well.
# Config test fails: a corrupt CHAIN or KEY, or a KEY of another cert.
# `nginx -s reload` loads the whole configuration, certificates included,
# before it signals: it fails (exit 1) on those too.
# Reload fails while the test passes: DIR/nginx.pid moved away, or the
# instance stopped (which removes it): 'open() ".../nginx.pid" failed',
# exit 1.
# New connections see the new certificate as soon as the reload returns.

srv_nginx_start() {
	srv__usage 4 $# "srv_nginx_start DIR PORT CHAIN KEY [SERVER_NAME]" || return
	local dir port=$2 chain key name=${5:-_}
	dir=$(srv__mkdir "$1") || return 1
	chain=$(srv__abs "$3")
	key=$(srv__abs "$4")
	cat >"$dir/nginx.conf" <<-EOF
		# private nginx of a certfleet e2e test
		daemon on;
		master_process on;
		worker_processes 1;
		pid $dir/nginx.pid;
		error_log $dir/error.log notice;
		events { worker_connections 64; }
		http {
			access_log off;
			client_body_temp_path $dir/client_body;
			proxy_temp_path $dir/proxy;
			fastcgi_temp_path $dir/fastcgi;
			uwsgi_temp_path $dir/uwsgi;
			scgi_temp_path $dir/scgi;
			server {
				listen 127.0.0.1:$port ssl default_server;
				server_name $name;
				ssl_certificate $chain;
				ssl_certificate_key $key;
				location / { return 200 "ok\n"; }
			}
		}
	EOF
	if ! "${SRV_AS[@]}" nginx -e "$dir/error.log" -c "$dir/nginx.conf" -p "$dir/" 2>"$dir/start.err"; then
		srv__fail "$dir" "nginx did not start" "$dir/start.err"
		return 1
	fi
	srv__record "$dir" "$dir/nginx.pid" ||
		{ srv__fail "$dir" "nginx: no master running" "$dir/error.log"; return 1; }
	srv_wait_port 127.0.0.1 "$port" ||
		{ srv__fail "$dir" "nginx: nothing accepts on 127.0.0.1:$port" "$dir/error.log"; return 1; }
}

srv_nginx_test_cmd() {
	local dir
	dir=$(srv__abs "$1")
	echo "nginx -t -q -e $dir/error.log -c $dir/nginx.conf -p $dir/"
}

srv_nginx_reload_cmd() {
	local dir
	dir=$(srv__abs "$1")
	echo "nginx -s reload -e $dir/error.log -c $dir/nginx.conf -p $dir/"
}

srv_nginx_stop() { srv__stop "$1"; }

# --- haproxy -------------------------------------------------------------
# DIR/haproxy.cfg: daemon mode, pid file DIR/haproxy.pid, runtime API on
# DIR/admin.sock (level admin), one frontend on 127.0.0.1:PORT with
# `ssl crt PEM` (certificate, chain and key in one file) that answers 200.
# haproxy reloads certificates through the runtime API, not through a
# command: `set ssl cert PEM <<\n<new cert+key PEM>\n` then
# `commit ssl cert PEM`, where PEM is the path exactly as in the bind line
# (the absolute path this function was given).  That changes what new
# connections see at once, and changes nothing on disk: srv_haproxy_restart
# serves whatever the file holds.
# Config test fails: a corrupt PEM, a PEM without key (haproxy then looks
# for PEM.key beside it), or with the key of another cert.  (haproxy -c -q says nothing at all on failure, so the test
# command has no -q; on success it prints "Configuration file is valid".)
# Runtime update fails while the test passes: `set ssl cert` of a name the
# configuration does not reference ("Can't replace a certificate which is
# not referenced by the configuration!"), a payload without its key or
# with another cert's key (commit: "Can't commit ..."), or no socket.

srv_haproxy_start() {
	srv__usage 3 $# "srv_haproxy_start DIR PORT PEM" || return
	local dir port=$2 pem
	dir=$(srv__mkdir "$1") || return 1
	pem=$(srv__abs "$3")
	if [ ${#dir} -gt 96 ]; then
		srv__fail "$dir" "haproxy: directory too long for $dir/admin.sock" /dev/null
		return 1
	fi
	cat >"$dir/haproxy.cfg" <<-EOF
		# private haproxy of a certfleet e2e test
		global
			daemon
			pidfile $dir/haproxy.pid
			stats socket $dir/admin.sock mode 600 level admin
		defaults
			mode http
			timeout connect 5s
			timeout client 30s
			timeout server 30s
		frontend https
			bind 127.0.0.1:$port ssl crt $pem
			http-request return status 200 content-type text/plain string "ok"
	EOF
	echo "$port" >"$dir/port"
	srv__haproxy_run "$dir"
}

srv__haproxy_run() {
	local dir=$1 port
	port=$(cat "$dir/port")
	rm -f "$dir/haproxy.pid"
	# (-q would hide the reason of a failure too.)
	if ! haproxy -f "$dir/haproxy.cfg" 2>"$dir/start.err"; then
		srv__fail "$dir" "haproxy did not start" "$dir/start.err"
		return 1
	fi
	srv__record "$dir" "$dir/haproxy.pid" ||
		{ srv__fail "$dir" "haproxy: no process running" "$dir/start.err"; return 1; }
	srv_wait_port 127.0.0.1 "$port" ||
		{ srv__fail "$dir" "haproxy: nothing accepts on 127.0.0.1:$port" "$dir/start.err"; return 1; }
}

srv_haproxy_test_cmd() {
	local dir
	dir=$(srv__abs "$1")
	echo "haproxy -c -f $dir/haproxy.cfg"
}

srv_haproxy_socket() {
	local dir
	dir=$(srv__abs "$1")
	echo "$dir/admin.sock"
}

# srv_haproxy_api DIR COMMAND [PAYLOAD_FILE] - one runtime API command,
# with PAYLOAD_FILE's content as its payload (`COMMAND <<` ...), the
# answer on stdout; for tests that look for themselves ("show ssl cert",
# "show ssl cert *PEM" for an uncommitted transaction), or do what
# certfleetd does ("set ssl cert PEM" NEW.pem, then "commit ssl cert PEM").
# python3, as socat is not among the packages.
srv_haproxy_api() {
	python3 - "$(srv_haproxy_socket "$1")" "$2" "${3:-}" <<-'EOF'
		import socket, sys
		cmd = sys.argv[2]
		if sys.argv[3]:
		    with open(sys.argv[3]) as f:
		        payload = f.read()
		    cmd += " <<\n" + payload.rstrip("\n") + "\n"
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.connect(sys.argv[1])
		s.sendall((cmd + "\n").encode())
		s.shutdown(socket.SHUT_WR)
		out = b""
		while True:
		    b = s.recv(65536)
		    if not b:
		        break
		    out += b
		sys.stdout.write(out.decode(errors="replace"))
	EOF
}

# srv_haproxy_restart DIR - stop, then start with the same configuration.
srv_haproxy_restart() {
	local dir
	dir=$(cd "$1" && pwd) || return 1
	srv__stop "$dir"
	srv__haproxy_run "$dir"
}

srv_haproxy_stop() { srv__stop "$1"; }

# --- postfix -------------------------------------------------------------
# A second postfix of its own: DIR/etc/{main,master}.cf, queue in
# DIR/spool, data in DIR/data, log in DIR/maillog (postlogd; there is no
# syslog here).  master.cf has only the services a running postfix needs,
# none chrooted, and smtpd on 127.0.0.1:PORT with STARTTLS offered
# (smtpd_tls_security_level = may, smtpd_tls_chain_files = KEY, CHAIN).
# Nothing is relayed or delivered: every recipient is rejected, every
# transport is error:, notify_classes is empty.  Started as root with
# `postfix -c DIR/etc start`: a root caller needs no alternate_config_
# directories entry, and /etc/postfix/main.cf is neither read nor needed.
# Postfix prints its complaints on stderr only when stderr is a terminal;
# otherwise they go to DIR/maillog.  Every postfix command waits (up to
# 2.4 s, polling) until main.cf is more than a second old: a test that
# edits main.cf should `touch -d '-1 minute'` it afterwards.
# smtpd reads the certificate files when a process starts: after a reload
# the master replaces idle smtpd processes at once, but with no reload a
# NEW smtpd process (none alive: max_idle 100 s) reads the new files too.
# Config test fails: a main.cf line without '=', or a missing queue
# directory; `postfix check` reads no TLS file: a corrupt or mismatched
# key passes it, and then smtpd answers STARTTLS with "454 4.7.0 TLS not
# available due to local problem" (srv_served_thumb prints nothing).
# Reload fails while the test passes: the instance not running (reload:
# "fatal: the Postfix mail system is not running", exit 1).

srv_postfix_start() {
	srv__usage 4 $# "srv_postfix_start DIR PORT CHAIN KEY" || return
	local dir port=$2 chain key d
	dir=$(srv__mkdir "$1") || return 1
	chain=$(srv__abs "$3")
	key=$(srv__abs "$4")
	mkdir -p "$dir/etc" || return 1
	chmod 755 "$dir" "$dir/etc"
	# The queue and data directories as postfix's post-install makes them
	# (/etc/postfix/postfix-files), and the queue's quick-start flag: then
	# `postfix start` skips its checks (post-install create-missing,
	# postsuper, check-warn), 0.2 s instead of 2.4 s.  `postfix check`
	# (the test command) still runs them all.
	install -d -m 755 -o root -g root "$dir/spool" "$dir/spool/pid" &&
		install -d -m 700 -o postfix -g root "$dir/data" \
			"$dir/spool/"{active,bounce,corrupt,defer,deferred,flush,hold,incoming,private,saved,trace} &&
		install -d -m 730 -o postfix -g postdrop "$dir/spool/maildrop" &&
		install -d -m 710 -o postfix -g postdrop "$dir/spool/public" &&
		: >"$dir/spool/quick-start" || return 1
	# The daemons open DIR/data and the maillog as user postfix: make the
	# ancestors that others cannot search searchable, those under /tmp or
	# $TMPDIR only (a test's own directories, $T 0700 among them).
	d=$dir
	while [ "$d" != / ] && [ -n "$d" ]; do
		case $(stat -c %A "$d") in
		?????????[xt]) ;;
		*)
			case $d/ in
			/tmp/?* | "${TMPDIR:-/tmp}"/?*) chmod o+x "$d" || return 1 ;;
			*)
				srv__fail "$dir" "postfix: user postfix cannot reach DIR: $d is not searchable" /dev/null
				return 1
				;;
			esac
			;;
		esac
		d=$(dirname "$d")
	done
	cat >"$dir/etc/main.cf" <<-EOF
		# private postfix of a certfleet e2e test
		compatibility_level = 3.6
		queue_directory = $dir/spool
		data_directory = $dir/data
		mail_owner = postfix
		setgid_group = postdrop
		maillog_file = $dir/maillog
		maillog_file_prefixes = $dir
		myhostname = mail.example.com
		mydomain = example.com
		myorigin = \$myhostname
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		mydestination =
		relay_domains =
		mynetworks = 127.0.0.0/8
		local_recipient_maps =
		alias_maps =
		alias_database =
		notify_classes =
		biff = no
		smtpd_relay_restrictions = reject
		smtpd_recipient_restrictions = reject
		default_transport = error:certfleet test instance delivers nothing
		local_transport = error:certfleet test instance delivers nothing
		smtpd_tls_security_level = may
		smtpd_tls_chain_files = $key, $chain
		smtpd_tls_loglevel = 1
		smtp_tls_security_level = none
	EOF
	cat >"$dir/etc/master.cf" <<-EOF
		# service type private unpriv chroot wakeup maxproc command
		127.0.0.1:$port inet n - n - - smtpd
		pickup    unix n - n 60 1 pickup
		cleanup   unix n - n - 0 cleanup
		qmgr      unix n - n 300 1 qmgr
		tlsmgr    unix - - n 1000? 1 tlsmgr
		rewrite   unix - - n - - trivial-rewrite
		bounce    unix - - n - 0 bounce
		defer     unix - - n - 0 bounce
		trace     unix - - n - 0 bounce
		verify    unix - - n - 1 verify
		flush     unix n - n 1000? 0 flush
		proxymap  unix - - n - - proxymap
		showq     unix n - n - - showq
		error     unix - - n - - error
		retry     unix - - n - - error
		discard   unix - - n - - discard
		anvil     unix - - n - 1 anvil
		scache    unix - - n - 1 scache
		postlog   unix-dgram n - n - 1 postlogd
	EOF
	# postfix waits (polling every 0.3 s, 2.4 s here) until a main.cf
	# written this very second is a little older: date them back.
	touch -d '-1 minute' "$dir/etc/main.cf" "$dir/etc/master.cf"
	if ! postfix -c "$dir/etc" start >"$dir/start.err" 2>&1; then
		srv__fail "$dir" "postfix did not start" "$dir/maillog"
		return 1
	fi
	srv__record "$dir" "$dir/spool/pid/master.pid" ||
		{ srv__fail "$dir" "postfix: no master running" "$dir/maillog"; return 1; }
	srv_wait_port 127.0.0.1 "$port" ||
		{ srv__fail "$dir" "postfix: nothing accepts on 127.0.0.1:$port" "$dir/maillog"; return 1; }
}

srv_postfix_test_cmd() {
	local dir
	dir=$(srv__abs "$1")
	echo "postfix -c $dir/etc check"
}

srv_postfix_reload_cmd() {
	local dir
	dir=$(srv__abs "$1")
	echo "postfix -c $dir/etc reload"
}

# (`postfix stop` sends the master SIGTERM, then polls once a second.)
srv_postfix_stop() { srv__stop "$1"; }

# --- dovecot -------------------------------------------------------------
# DIR/dovecot.conf, standalone (no !include of /etc/dovecot): base_dir
# DIR/run, state_dir DIR/state, log DIR/dovecot.log, instance name from
# DIR; imap on 127.0.0.1:IMAP_PORT and pop3 on 127.0.0.1:POP_PORT, no
# imaps/pop3s, STARTTLS offered (ssl = yes, not required), ssl_cert =
# <CHAIN, ssl_key = <KEY.  The passdb/userdb is an empty passwd-file: no
# one can log in.
# `doveadm reload` only sends SIGHUP and exits 0 even when the master then
# rejects the new configuration (say a vanished key: "Error reading
# configuration", old certificate kept) - only the served certificate or
# DIR/dovecot.log tells.  Login processes read the certificate through
# the config process, so without a reload new connections keep the old one.
# Config test (doveconf -x -n, which reads the <files) fails: a missing
# CHAIN or KEY, a syntax error.  It does not parse them: a corrupt or
# mismatched key passes, and then every STARTTLS fails ("TLS
# initialization failed"; srv_served_thumb prints nothing).
# Reload fails while the test passes: the instance not running (doveadm:
# "Fatal: Dovecot is not running", exit 75).

srv_dovecot_start() {
	srv__usage 5 $# "srv_dovecot_start DIR IMAP_PORT POP_PORT CHAIN KEY" || return
	local dir imap=$2 pop=$3 chain key inst
	dir=$(srv__mkdir "$1") || return 1
	chain=$(srv__abs "$4")
	key=$(srv__abs "$5")
	if [ ${#dir} -gt 80 ]; then
		srv__fail "$dir" "dovecot: directory too long for the sockets in $dir/run" /dev/null
		return 1
	fi
	inst=certfleet-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)
	: >"$dir/users"
	cat >"$dir/dovecot.conf" <<-EOF
		# private dovecot of a certfleet e2e test
		instance_name = $inst
		base_dir = $dir/run
		state_dir = $dir/state
		log_path = $dir/dovecot.log
		protocols = imap pop3
		listen = 127.0.0.1
		ssl = yes
		ssl_cert = <$chain
		ssl_key = <$key
		auth_mechanisms = plain
		passdb {
		  driver = passwd-file
		  args = $dir/users
		}
		userdb {
		  driver = passwd-file
		  args = $dir/users
		}
		mail_location = maildir:$dir/mail/%u
		service imap-login {
		  inet_listener imap {
		    address = 127.0.0.1
		    port = $imap
		  }
		  inet_listener imaps {
		    port = 0
		  }
		}
		service pop3-login {
		  inet_listener pop3 {
		    address = 127.0.0.1
		    port = $pop
		  }
		  inet_listener pop3s {
		    port = 0
		  }
		}
	EOF
	if ! dovecot -c "$dir/dovecot.conf" 2>"$dir/start.err"; then
		cat "$dir/start.err" >&2
		srv__fail "$dir" "dovecot did not start" "$dir/dovecot.log"
		return 1
	fi
	srv__record "$dir" "$dir/run/master.pid" ||
		{ srv__fail "$dir" "dovecot: no master running" "$dir/dovecot.log"; return 1; }
	{ srv_wait_port 127.0.0.1 "$imap" && srv_wait_port 127.0.0.1 "$pop"; } ||
		{ srv__fail "$dir" "dovecot: nothing accepts on 127.0.0.1:$imap/$pop" "$dir/dovecot.log"; return 1; }
}

srv_dovecot_test_cmd() {
	local dir
	dir=$(srv__abs "$1")
	echo "doveconf -x -n -c $dir/dovecot.conf"
}

srv_dovecot_reload_cmd() {
	local dir
	dir=$(srv__abs "$1")
	echo "doveadm -c $dir/dovecot.conf reload"
}

srv_dovecot_stop() { srv__stop "$1"; }
