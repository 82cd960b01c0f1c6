#!/usr/bin/env bash
# Install the Trygg edge agent on a Raspberry Pi 4 or 5 (64-bit Raspberry Pi OS Bookworm), from a
# checkout or an unpacked release tarball of Trygg. The one command (docs/pi.md):
#
#   sudo ./deploy/pi/install.sh --central-host trygg.office.lan --site oslo-sentrum --device rom-101
#
# What it does, each step printed as it goes (--dry-run prints them and changes nothing):
#   1. checks this machine (root, Python >= 3.11, 64-bit Pi or not) and picks how lgpio comes in
#   2. OS packages it lacks (python3-venv; python3-lgpio with --lgpio debian)
#   3. the system user `trygg`, in groups gpio (/dev/gpiochip*) and dialout (serial ports)
#   4. /etc/trygg (root:trygg 0750) and /var/lib/trygg (the outbox; trygg:trygg 0750, as the
#      unit's StateDirectory= makes it at every start)
#   5. a venv in /opt/trygg: the hash-locked requirements/deploy-edge.lock, lgpio from
#      deploy/pi/lgpio.lock (hash-pinned wheel) on aarch64, then trygg itself (--no-deps)
#   6. /etc/trygg/edge.toml from edge/sample-edge.toml with this device's id, room, broker and
#      secret (flags or prompts), checked with `trygg-edge validate-config`; an existing one is kept.
#      /etc/trygg/edge.env, if there is one, is handed to every check on stdin and read as
#      systemd reads the unit's EnvironmentFile= (`--env-file -`: no shell, so a `$` stays a `$`)
#   7. deploy/systemd/trygg-edge.service, plus a drop-in naming the pin factory (lgpio) and a
#      writable working directory (lgpio makes its notification pipes there)
#   8. stops a running agent (it holds the pins, the serial port and the broker session); it is
#      started again however the script ends (a failed check, an error, Ctrl-C): the room never
#      loses its button because of this script
#   9. `trygg-edge doctor` as user trygg: pins, serial port, broker, clock, outbox. If any check
#      fails, it stops here with the doctor's lines and enables nothing
#  10. enables and starts trygg-edge
#
# Idempotent: run it again after fixing what the doctor said, or after editing the config.
# Offline: --wheelhouse DIR installs from wheels shipped beside a release (pip --no-index).
# Secrets: the broker password comes from --password-file FILE or a prompt, never argv (which
# every user can read in `ps`). It is written into edge.toml, 0640 root:trygg.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PREFIX=/opt/trygg
ETC=/etc/trygg
STATE=/var/lib/trygg
CONFIG=$ETC/edge.toml
ENV_FILE=$ETC/edge.env
USER_NAME=trygg
UNIT=trygg-edge
SYSTEMD_DIR=/etc/systemd/system
DROP_IN=$SYSTEMD_DIR/$UNIT.service.d/pi.conf
ID_RE='^[a-z0-9][a-z0-9-]{0,62}$'

usage() {
    cat <<'EOF'
Usage: sudo deploy/pi/install.sh --central-host HOST --site ID --device ID [options]

  --central-host HOST   the broker's host name (the office's Trygg server)
  --site ID             this office's site id in central's registry (e.g. oslo-sentrum)
  --device ID           this Pi's device id in central's registry (e.g. rom-101)
  --room TEXT           the room shown on colleagues' screens (default: the device id)
  --port N              the broker's port (default 8883 with --tls-ca, else 1883)
  --password-file FILE  the device's broker password (first line); else asked for
  --tls-ca FILE         the office CA (TLS); with --tls-cert/--tls-key the device logs in
  --tls-cert FILE       with its client certificate instead of a password
  --tls-key FILE
  --lgpio MODE          wheel (hash-pinned PyPI wheel; default on aarch64 with Python 3.11),
                        debian (Raspberry Pi OS's python3-lgpio; default with another Python),
                        none (not a Pi)
  --pin-factory NAME    the gpiozero pin factory the service uses (default lgpio)
  --wheelhouse DIR      install Python packages from DIR only (offline)
  --no-start            enable the service but do not start it
  --dry-run             print every step, change nothing
  -h, --help            this text
EOF
}

DRY_RUN=0
START=1
CENTRAL_HOST=""
PORT=""
SITE=""
DEVICE=""
ROOM=""
PASSWORD_FILE=""
TLS_CA=""
TLS_CERT=""
TLS_KEY=""
LGPIO=auto
PIN_FACTORY=lgpio
WHEELHOUSE=""

die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 2
}

need_value() {
    [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
    case $1 in
        --central-host) need_value "$@"; CENTRAL_HOST=$2; shift 2 ;;
        --port) need_value "$@"; PORT=$2; shift 2 ;;
        --site) need_value "$@"; SITE=$2; shift 2 ;;
        --device) need_value "$@"; DEVICE=$2; shift 2 ;;
        --room) need_value "$@"; ROOM=$2; shift 2 ;;
        --password-file) need_value "$@"; PASSWORD_FILE=$2; shift 2 ;;
        --tls-ca) need_value "$@"; TLS_CA=$2; shift 2 ;;
        --tls-cert) need_value "$@"; TLS_CERT=$2; shift 2 ;;
        --tls-key) need_value "$@"; TLS_KEY=$2; shift 2 ;;
        --lgpio) need_value "$@"; LGPIO=$2; shift 2 ;;
        --pin-factory) need_value "$@"; PIN_FACTORY=$2; shift 2 ;;
        --wheelhouse) need_value "$@"; WHEELHOUSE=$2; shift 2 ;;
        --no-start) START=0; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

# A dry run may show another machine's plan (tests/edge/test_doctor_install.py): an env file,
# an agent already running, a doctor that fails. Honoured only with --dry-run.
PRETEND_AGENT=""
PRETEND_DOCTOR=""
if [[ $DRY_RUN -eq 1 ]]; then
    ENV_FILE=${TRYGG_INSTALL_ENV_FILE:-$ENV_FILE}
    PRETEND_AGENT=${TRYGG_INSTALL_AGENT:-}
    PRETEND_DOCTOR=${TRYGG_INSTALL_DOCTOR:-}
fi

STEP=0
step() {
    STEP=$((STEP + 1))
    printf '==> %d. %s\n' "$STEP" "$*"
}

note() {
    printf '    %s\n' "$*"
}

# Print a command, quoted where a shell would need it.
show() {
    local arg
    printf '    +'
    for arg in "$@"; do
        if [[ $arg =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
            printf ' %s' "$arg"
        elif [[ $arg != *\'* ]]; then
            printf " '%s'" "$arg"
        else
            printf ' %q' "$arg"
        fi
    done
    printf '\n'
}

# Print a command, then run it unless this is a dry run.
run() {
    show "$@"
    if [[ $DRY_RUN -eq 0 ]]; then
        "$@"
    fi
}

# The service's environment file, for the checks that read the settings as the service does:
# handed over on stdin (root may be the only one who can read it) and read by trygg-edge by
# systemd's rules (`--env-file -`), never sourced by this shell, whose rules differ.
ENV_ARGS=()
ENV_FROM=/dev/null
use_env_file() {
    if [[ -e $ENV_FILE ]]; then
        [[ $DRY_RUN -eq 1 || -r $ENV_FILE ]] || die "cannot read $ENV_FILE"
        ENV_ARGS=(--env-file -)
        ENV_FROM=$ENV_FILE
        note "with the environment of $ENV_FILE (on stdin), read as systemd reads it"
    fi
}

# As run, with the environment file (if any) on stdin.
run_with_env() {
    show "$@"
    [[ $ENV_FROM == /dev/null ]] || note "  < $ENV_FROM"
    if [[ $DRY_RUN -eq 0 ]]; then
        "$@" <"$ENV_FROM"
    fi
}

is_tty() {
    [[ -t 0 ]]
}

ask() { # ask VAR "question": only on a terminal, only for what no flag gave
    local answer
    is_tty || die "$2 is missing: give it as a flag (see --help)"
    read -rp "$2: " answer
    printf -v "$1" '%s' "$answer"
}

systemd_running() {
    [[ -d /run/systemd/system ]]
}

agent_active() {
    if [[ -n $PRETEND_AGENT ]]; then
        [[ $PRETEND_AGENT == active ]]
    else
        systemd_running && systemctl is-active --quiet "$UNIT"
    fi
}

AGENT_STARTED=0 # step 10 sets it once it has started the agent
# shellcheck disable=SC2317 # reached through the EXIT trap that step 8 sets
start_agent_again() {
    local status=$?
    trap - EXIT
    if [[ $AGENT_STARTED -eq 0 ]] && { [[ $DRY_RUN -eq 1 ]] || ! agent_active; }; then
        printf '==> %s was running before this script: starting it again\n' "$UNIT"
        run systemctl start "$UNIT" ||
            printf 'install.sh: %s did not start: see systemctl status %s\n' "$UNIT" "$UNIT" >&2
    fi
    exit "$status"
}

# -- what the operator asked for -------------------------------------------------------------------

FRESH_CONFIG=1
[[ -e $CONFIG ]] && FRESH_CONFIG=0
if [[ $FRESH_CONFIG -eq 1 ]]; then
    [[ -n $CENTRAL_HOST ]] || ask CENTRAL_HOST "the broker's host name (--central-host)"
    [[ -n $SITE ]] || ask SITE "site id (--site)"
    [[ -n $DEVICE ]] || ask DEVICE "device id (--device)"
fi
[[ -z $SITE || $SITE =~ $ID_RE ]] || die "site id '$SITE' must match $ID_RE"
[[ -z $DEVICE || $DEVICE =~ $ID_RE ]] || die "device id '$DEVICE' must match $ID_RE"
[[ -z $CENTRAL_HOST || $CENTRAL_HOST =~ ^[A-Za-z0-9.:-]+$ ]] ||
    die "--central-host '$CENTRAL_HOST' is not a host name or address"
[[ -z $PORT || ($PORT =~ ^[0-9]+$ && $PORT -ge 1 && $PORT -le 65535) ]] ||
    die "--port '$PORT' is not a port number"
[[ -n $TLS_CERT || -z $TLS_KEY ]] || die "--tls-key needs --tls-cert"
[[ -z $TLS_CERT || -n $TLS_KEY ]] || die "--tls-cert needs --tls-key"
[[ -z $TLS_CERT || -n $TLS_CA ]] || die "a client certificate needs --tls-ca (the office CA)"
for file in "$TLS_CA" "$TLS_CERT" "$TLS_KEY" "$PASSWORD_FILE"; do
    [[ -z $file || -r $file ]] || die "cannot read $file"
done
[[ -z $WHEELHOUSE || -d $WHEELHOUSE ]] || die "--wheelhouse $WHEELHOUSE is not a directory"
case $LGPIO in auto | wheel | debian | none) ;; *) die "--lgpio is wheel, debian or none" ;; esac
[[ $PIN_FACTORY =~ ^[a-z0-9-]+$ ]] || die "--pin-factory '$PIN_FACTORY' is not a factory name"
ROOM=${ROOM:-$DEVICE}
if [[ -z $PORT ]]; then
    if [[ -n $TLS_CA ]]; then PORT=8883; else PORT=1883; fi
fi

# -- 1. this machine ------------------------------------------------------------------------------

step "Check this machine"
[[ -f $SRC/pyproject.toml && -f $SRC/requirements/deploy-edge.lock ]] ||
    die "$SRC is not a Trygg checkout or release (no pyproject.toml / requirements/deploy-edge.lock)"
if [[ $DRY_RUN -eq 0 && $(id -u) -ne 0 ]]; then
    die "run it as root: sudo $0 ..."
fi
MACHINE=$(uname -m)
if [[ $DRY_RUN -eq 1 && -n ${TRYGG_INSTALL_MACHINE:-} ]]; then
    MACHINE=$TRYGG_INSTALL_MACHINE # a dry run may show another machine's plan (e.g. aarch64)
fi
MODEL=""
if [[ -r /proc/device-tree/model ]]; then
    MODEL=$(tr -d '\0' </proc/device-tree/model)
fi
command -v python3 >/dev/null || die "python3 is missing: sudo apt-get install python3"
PY_VERSION=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    die "Python $PY_VERSION is too old: Trygg needs 3.11 or later (Raspberry Pi OS Bookworm)"
if [[ $LGPIO == auto ]]; then
    if [[ $MACHINE != aarch64 ]]; then
        LGPIO=none
    elif [[ $PY_VERSION == 3.11 ]]; then
        LGPIO=wheel
    else
        LGPIO=debian
    fi
fi
if [[ $LGPIO == wheel && ($MACHINE != aarch64 || $PY_VERSION != 3.11) ]]; then
    die "--lgpio wheel needs aarch64 and Python 3.11 (deploy/pi/lgpio.lock); use --lgpio debian"
fi
note "source:  $SRC"
note "machine: $MACHINE, ${MODEL:-not a Raspberry Pi}, Python $PY_VERSION"
case $LGPIO in
    wheel) note "lgpio:   the hash-pinned wheel from deploy/pi/lgpio.lock, in the venv" ;;
    debian) note "lgpio:   Raspberry Pi OS's python3-lgpio (the venv sees system packages)" ;;
    none) note "lgpio:   none (not a 64-bit Pi): the service's pins come from '$PIN_FACTORY'" ;;
esac
[[ $DRY_RUN -eq 1 ]] && note "dry run: nothing below is changed"

# -- 2. OS packages -------------------------------------------------------------------------------

step "OS packages"
PACKAGES=()
python3 -c 'import ensurepip, venv' 2>/dev/null || PACKAGES+=(python3-venv)
if [[ $LGPIO == debian ]] && ! dpkg-query -W -f='${Status}' python3-lgpio 2>/dev/null |
    grep -q "ok installed"; then
    PACKAGES+=(python3-lgpio)
fi
if [[ ${#PACKAGES[@]} -gt 0 ]]; then
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${PACKAGES[@]}"
else
    note "nothing missing"
fi

# -- 3. the user ----------------------------------------------------------------------------------

step "User $USER_NAME in groups gpio and dialout"
for group in gpio dialout; do
    getent group "$group" >/dev/null || run groupadd --system "$group"
done
if id -u "$USER_NAME" >/dev/null 2>&1; then
    note "user $USER_NAME exists"
else
    run useradd --system --user-group --home-dir "$STATE" --no-create-home \
        --shell /usr/sbin/nologin "$USER_NAME"
fi
run usermod --append --groups gpio,dialout "$USER_NAME"

# -- 4. directories -------------------------------------------------------------------------------

step "Directories $ETC and $STATE"
run install -d -m 0750 -o root -g "$USER_NAME" "$ETC"
# trygg:trygg, as the unit's StateDirectory= makes it again at every start (the agent reaches
# GPIO through its supplementary group gpio, not through this directory).
run install -d -m 0750 -o "$USER_NAME" -g "$USER_NAME" "$STATE"

# -- 5. the Python environment ----------------------------------------------------------------------

step "Python environment in $PREFIX"
VENV_ARGS=()
[[ $LGPIO == debian ]] && VENV_ARGS+=(--system-site-packages)
if [[ -x $PREFIX/bin/python ]]; then
    note "$PREFIX exists: reused"
    if [[ $LGPIO == debian ]] && ! grep -qs '^include-system-site-packages = true' \
        "$PREFIX/pyvenv.cfg"; then
        run python3 -m venv --system-site-packages --without-pip "$PREFIX"
    fi
else
    run python3 -m venv "${VENV_ARGS[@]}" "$PREFIX"
fi
PIP_FROM=()
[[ -n $WHEELHOUSE ]] && PIP_FROM=(--no-index --find-links "$WHEELHOUSE")
PIP=("$PREFIX/bin/pip" install --quiet --disable-pip-version-check "${PIP_FROM[@]}")
run "${PIP[@]}" --require-hashes -r "$SRC/requirements/deploy-edge.lock"
if [[ $LGPIO == wheel ]]; then
    run "${PIP[@]}" --require-hashes -r "$SRC/deploy/pi/lgpio.lock"
fi
# The locked setuptools builds trygg: no build environment fetched from the network.
run "${PIP[@]}" --no-deps --no-build-isolation "$SRC"
if [[ $LGPIO != none ]]; then
    run "$PREFIX/bin/python" -c 'import lgpio'
fi

# -- 6. the configuration -----------------------------------------------------------------------------

step "Configuration $CONFIG"
if [[ $FRESH_CONFIG -eq 0 ]]; then
    note "$CONFIG exists: kept (edit it, or remove it to have it written again)"
    if [[ -n $SITE$DEVICE$CENTRAL_HOST$PASSWORD_FILE$TLS_CA ]]; then
        note "so --site/--device/--central-host/--password-file/--tls-* were not applied"
    fi
else
    if [[ -n $TLS_CA ]]; then
        run install -m 0644 -o root -g root "$TLS_CA" "$ETC/ca.pem"
    fi
    if [[ -n $TLS_CERT ]]; then
        run install -m 0640 -o root -g "$USER_NAME" "$TLS_CERT" "$ETC/$DEVICE.pem"
        run install -m 0640 -o root -g "$USER_NAME" "$TLS_KEY" "$ETC/$DEVICE.key"
    fi
    if [[ -n $TLS_CERT ]]; then
        PASSWORD_FROM="none: the client certificate is the credential"
    elif [[ -n $PASSWORD_FILE ]]; then
        PASSWORD_FROM=$PASSWORD_FILE
    else
        PASSWORD_FROM="asked now"
    fi
    note "site $SITE, device $DEVICE, room '$ROOM', broker $CENTRAL_HOST:$PORT" \
        "(TLS: $([[ -n $TLS_CA ]] && printf yes || printf no)), password: $PASSWORD_FROM"
    PASSWORD=""
    if [[ -z $TLS_CERT && $DRY_RUN -eq 0 ]]; then
        if [[ -n $PASSWORD_FILE ]]; then
            IFS= read -r PASSWORD <"$PASSWORD_FILE" || true
        else
            is_tty || die "the device's broker password is missing: --password-file FILE"
            read -rsp "the device's broker password (from central's registry): " PASSWORD
            printf '\n'
        fi
        [[ -n $PASSWORD ]] || die "the device's broker password is empty"
    fi
    if [[ $DRY_RUN -eq 1 ]]; then
        note "+ write $CONFIG (0640 root:$USER_NAME) from edge/sample-edge.toml"
    else
        RENDERED=$(mktemp)
        trap 'rm -f "$RENDERED"' EXIT
        # Values go in through the environment (not argv) and out as TOML strings (JSON's
        # string escapes are TOML's basic-string escapes).
        T_SITE=$SITE T_DEVICE=$DEVICE T_ROOM=$ROOM T_HOST=$CENTRAL_HOST T_PORT=$PORT \
            T_PASSWORD=$PASSWORD T_CA=${TLS_CA:+$ETC/ca.pem} \
            T_CERT=${TLS_CERT:+$ETC/$DEVICE.pem} T_KEY=${TLS_KEY:+$ETC/$DEVICE.key} \
            T_OUTBOX=$STATE/edge-outbox.db \
            python3 - "$SRC/edge/sample-edge.toml" >"$RENDERED" <<'PY'
import json, os, re, sys

env = os.environ
text = open(sys.argv[1], encoding="utf-8").read()


def put(key, value, text, count=1):
    pattern = re.compile(rf'^{key}(\s*=\s*)("[^"]*"|\d+)', re.M)
    new, n = pattern.subn(lambda m: f"{key}{m.group(1)}{value}", text, count=count)
    if n != 1:
        sys.exit(f"edge/sample-edge.toml has no '{key} = ' line to fill in")
    return new


for key, name in (("site", "T_SITE"), ("device", "T_DEVICE"), ("room", "T_ROOM")):
    text = put(key, json.dumps(env[name], ensure_ascii=False), text)
text = put("host", json.dumps(env["T_HOST"]), text)
text = put("port", str(int(env["T_PORT"])), text)
text = put("path", json.dumps(env["T_OUTBOX"]), text)
tls = ""
if env.get("T_CA"):
    tls += f"tls_ca = {json.dumps(env['T_CA'])}\n"
if env.get("T_CERT"):
    tls += f"tls_cert = {json.dumps(env['T_CERT'])}\ntls_key = {json.dumps(env['T_KEY'])}\n"
    text = re.sub(r"^password\s*=.*$", "# password: none, the client certificate logs in", text,
                  count=1, flags=re.M)
else:
    secret = json.dumps(env["T_PASSWORD"], ensure_ascii=False)
    line = f"password = {secret}  # this device's broker password (central's registry)"
    text, n = re.subn(r"^password\s*=.*$", lambda _: line, text, count=1, flags=re.M)
    if n != 1:
        sys.exit("edge/sample-edge.toml has no 'password = ' line to fill in")
text = re.sub(r"^(keepalive_s\s*=.*\n)", lambda m: m.group(1) + tls, text, count=1, flags=re.M)
sys.stdout.write(text)
PY
        install -m 0640 -o root -g "$USER_NAME" "$RENDERED" "$CONFIG"
        rm -f "$RENDERED"
        trap - EXIT
        note "written"
    fi
fi
use_env_file
run_with_env runuser -u "$USER_NAME" -- "$PREFIX/bin/trygg-edge" validate-config \
    "${ENV_ARGS[@]}" "$CONFIG"

# -- 7. the systemd unit ------------------------------------------------------------------------------

step "systemd unit $UNIT (deploy/systemd/$UNIT.service) and the Pi's drop-in"
run install -m 0644 "$SRC/deploy/systemd/$UNIT.service" "$SYSTEMD_DIR/$UNIT.service"
run install -d -m 0755 "$(dirname "$DROP_IN")"
DROP_IN_TEXT="# Written by deploy/pi/install.sh: what a Raspberry Pi adds to $UNIT.service.
[Service]
# The GPIO library by name: gpiozero then fails loudly instead of falling back to another.
Environment=GPIOZERO_PIN_FACTORY=$PIN_FACTORY
# lgpio makes its notification pipes (.lgd-nfy*) in the working directory: not /.
WorkingDirectory=$STATE"
if [[ $DRY_RUN -eq 1 ]]; then
    note "+ write $DROP_IN:"
    while IFS= read -r drop_in_line; do note "    $drop_in_line"; done <<<"$DROP_IN_TEXT"
else
    printf '%s\n' "$DROP_IN_TEXT" >"$DROP_IN"
    chmod 0644 "$DROP_IN"
fi
if systemd_running || [[ $DRY_RUN -eq 1 ]]; then
    run systemctl daemon-reload
else
    note "systemd is not running here (a chroot or container): daemon-reload skipped"
fi

# -- 8. stop a running agent ------------------------------------------------------------------------

step "Stop a running agent while the doctor checks"
# However the script ends from here (a failed check, an error, Ctrl-C), an agent that was
# running is running again (start_agent_again): a brief broker outage during the doctor must
# not leave the room without its button.
if agent_active; then
    trap start_agent_again EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    run systemctl stop "$UNIT"
    note "it is started again however this script ends"
else
    note "$UNIT is not running"
fi

# -- 9. the doctor ----------------------------------------------------------------------------------

step "trygg-edge doctor (as $USER_NAME, as the service will run)"
DOCTOR=(runuser -u "$USER_NAME" -- env "GPIOZERO_PIN_FACTORY=$PIN_FACTORY"
    "$PREFIX/bin/trygg-edge" doctor --config "$CONFIG" --expect-pins "$PIN_FACTORY")
DOCTOR+=("${ENV_ARGS[@]}")
show cd "$STATE"
show "${DOCTOR[@]}"
[[ $ENV_FROM == /dev/null ]] || note "  < $ENV_FROM"
DOCTOR_OK=1
if [[ $DRY_RUN -eq 0 ]]; then
    (cd "$STATE" && "${DOCTOR[@]}" <"$ENV_FROM") || DOCTOR_OK=0
elif [[ $PRETEND_DOCTOR == fail ]]; then
    DOCTOR_OK=0
fi
if [[ $DOCTOR_OK -eq 0 ]]; then
    printf '\nThe doctor found problems (the lines marked ✗ above). Nothing was enabled:\n' >&2
    printf 'fix them and run this script again.\n' >&2
    exit 1
fi

# -- 10. enable and start ---------------------------------------------------------------------------

if [[ $START -eq 1 ]]; then
    step "Enable and start $UNIT"
    ENABLE=(systemctl enable --now "$UNIT")
else
    step "Enable $UNIT (not started: --no-start)"
    ENABLE=(systemctl enable "$UNIT")
fi
if systemd_running || [[ $DRY_RUN -eq 1 ]]; then
    run "${ENABLE[@]}"
    AGENT_STARTED=$START
else
    note "systemd is not running here: enable it on the Pi with: ${ENABLE[*]}"
fi
note "follow it with: journalctl -u $UNIT -f"
[[ $DRY_RUN -eq 1 ]] && note "dry run: nothing was changed"
exit 0
