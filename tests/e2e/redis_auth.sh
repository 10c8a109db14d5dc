#!/usr/bin/env bash
# redis_auth.sh - logging in to Redis, and never printing the password.
#
# Every command that talks to Redis (run, enqueue, status, cancel, dlq)
# logs in as a Redis 6 ACL user (redis://user:password@, percent-encoded,
# AUTH user password) or as the default user (redis://:password@), with
# the password in the URL, in JOBRT_REDIS_PASSWORD, in a file named by
# --redis-password-file or by JOBRT_REDIS_PASSWORD_FILE. Each way is run
# with the right password (the command works) and a wrong one (one line,
# exit 1). Bad URLs holding a password, a password given twice, a missing
# or empty password file: one usage line naming the thing, exit 2, and
# for `run` before any plugin is loaded. Every line any of them printed
# (stdout, stderr, worker logs) is grepped for the passwords: none may
# contain one, nor may a worker's command line (/proc/PID/cmdline) when
# the password comes from the environment or a file.
. "$(dirname "$0")/lib.sh"

e2e_setup --tcp
e2e_require "$JOBRT_TESTKIT_DIR/testkit.so" "build the testkit target"
Q=auth
HP="127.0.0.1:$REDIS_PORT"
# The passwords hold '@', ':' and '/', written %40 %3A %2F in URLs; each
# has a marker that is in both forms, which the final grep looks for.
APP_PW='Zq7-s3cr3t@:/x'
APP_PW_URL='Zq7-s3cr3t%40%3A%2Fx'
DEF_PW='Dk2-d3f4ult'
WRONG_PW='Wr0ng-gu3ss'
MARKERS=(s3cr3t d3f4ult gu3ss)

rcli ACL SETUSER app on ">$APP_PW" '~*' '&*' +@all >/dev/null
rcli CONFIG SET requirepass "$DEF_PW" >/dev/null
E2E_REDIS_CLI+=(--no-auth-warning -a "$DEF_PW")
REDIS_URL="redis://:$DEF_PW@$HP" # for the helpers of lib.sh
assert_eq PONG "$(rcli PING)" "redis-cli with the default user's password"

SECRETS="$E2E_WORK/secrets" OUTS="$E2E_WORK/outputs"
mkdir -p "$SECRETS" "$OUTS"
printf '%s\n' "$APP_PW" >"$SECRETS/app"
printf '%s\r\n' "$DEF_PW" >"$SECRETS/default"
printf '%s\n' "$WRONG_PW" >"$SECRETS/wrong"
: >"$SECRETS/empty"

# jr NAME [VAR=VALUE...] -- ARGS...: `jobrt ARGS` with those environment
# variables; stdout and stderr kept in $OUTS/NAME.*, and in OUT, ERR, RC.
jr()
{
    local name=$1
    shift
    local envs=()
    while [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    shift
    RC=0
    env "${envs[@]}" "$JOBRT_BIN" "$@" >"$OUTS/$name.out" \
        2>"$OUTS/$name.err" </dev/null || RC=$?
    OUT=$(cat "$OUTS/$name.out") ERR=$(cat "$OUTS/$name.err")
}

# way NAME right|wrong: how to log in, as WAY_ENV (VAR=VALUE words) and
# WAY_ARGS (options).
way()
{
    local pw_app=$APP_PW_URL pw_def=$DEF_PW file_app=$SECRETS/app
    local file_def=$SECRETS/default pw_env=$APP_PW
    if [ "$2" = wrong ]; then
        pw_app=$WRONG_PW pw_def=$WRONG_PW pw_env=$WRONG_PW
        file_app=$SECRETS/wrong file_def=$SECRETS/wrong
    fi
    WAY_ENV=() WAY_ARGS=()
    case "$1" in
        url_user) WAY_ARGS=(-r "redis://app:$pw_app@$HP") ;;
        url_default) WAY_ARGS=(-r "redis://:$pw_def@$HP") ;;
        env_password)
            WAY_ENV=("JOBRT_REDIS_PASSWORD=$pw_env")
            WAY_ARGS=(-r "redis://app:@$HP") ;;
        password_file)
            WAY_ARGS=(-r "redis://$HP" --redis-password-file "$file_def") ;;
        env_password_file)
            WAY_ENV=("JOBRT_REDIS_PASSWORD_FILE=$file_app")
            WAY_ARGS=(-r "redis://app:@$HP") ;;
        *) fail "no way $1" ;;
    esac
}

# one_line WHAT TEXT: TEXT is exactly one line.
one_line()
{
    assert_eq 1 "$(printf '%s\n' "$2" | grep -c .)" "$1: lines of: $2"
}

# no_password_in_cmdline PID WHAT
no_password_in_cmdline()
{
    local cmdline
    cmdline=$(tr '\0' ' ' <"/proc/$1/cmdline")
    for m in "${MARKERS[@]}"; do
        assert_not_contains "$cmdline" "$m" "$2: /proc/$1/cmdline"
    done
}

# A job that ran, for `jobrt status`.
start_worker seed --plugin-dir "$JOBRT_TESTKIT_DIR" -r "$REDIS_URL" -q $Q
assert_exit 0 "enqueue seed" "$JOBRT_BIN" enqueue $Q ok -v 1 -d '{}' \
    --id seed -r "$REDIS_URL"
wait_for "the seed job" 10 job_has_status $Q seed succeeded
stop_worker seed
assert_eq 0 "$WORKER_RC" "seed worker exit code"

WAYS=(url_user url_default env_password password_file env_password_file)

# ---- the right password, each way ---------------------------------------
for w in "${WAYS[@]}"; do
    way "$w" right
    jr "$w-enqueue" "${WAY_ENV[@]}" -- enqueue $Q ok -v 1 -d '{}' \
        --id "job-$w" "${WAY_ARGS[@]}"
    assert_eq "0 job-$w" "$RC $OUT" "$w: enqueue (stderr: $ERR)"
    jr "$w-status" "${WAY_ENV[@]}" -- status seed -q $Q "${WAY_ARGS[@]}"
    assert_eq 0 "$RC" "$w: status (stderr: $ERR)"
    assert_contains "$OUT" '"status":"succeeded"' "$w: status"
    jr "$w-cancel" "${WAY_ENV[@]}" -- cancel "nothing-$w" -q $Q \
        "${WAY_ARGS[@]}"
    assert_eq 0 "$RC" "$w: cancel (stderr: $ERR)"
    jr "$w-dlq" "${WAY_ENV[@]}" -- dlq list -q $Q "${WAY_ARGS[@]}"
    assert_eq 0 "$RC" "$w: dlq list (stderr: $ERR)"
    # the worker, with this way's environment
    for kv in "${WAY_ENV[@]}"; do export "${kv?}"; done
    start_worker "run-$w" --plugin-dir "$JOBRT_TESTKIT_DIR" -q $Q \
        "${WAY_ARGS[@]}"
    for kv in "${WAY_ENV[@]}"; do unset "${kv%%=*}"; done
    wait_for "job-$w to run" 10 job_has_status $Q "job-$w" succeeded
    case $w in # the password is not in argv: not in `ps` either
        url_*) ;;
        *) no_password_in_cmdline "$(worker_pid "run-$w")" "run-$w" ;;
    esac
    stop_worker "run-$w"
    assert_eq 0 "$WORKER_RC" "run-$w: exit code after SIGTERM"
    log "$w: every command logged in"
done

# ---- a wrong password, each way ------------------------------------------
for w in "${WAYS[@]}"; do
    way "$w" wrong
    for c in enqueue status cancel dlq; do
        case $c in
            enqueue) args=(enqueue "$Q" ok -v 1 -d '{}' --id "bad-$w") ;;
            status) args=(status seed -q "$Q") ;;
            cancel) args=(cancel "bad-$w" -q "$Q") ;;
            dlq) args=(dlq list -q "$Q") ;;
        esac
        jr "$w-wrong-$c" "${WAY_ENV[@]}" -- "${args[@]}" "${WAY_ARGS[@]}"
        assert_eq 1 "$RC" "$w: $c with a wrong password: exit code ($ERR)"
        one_line "$w: $c with a wrong password" "$ERR"
        assert_contains "$ERR" "jobrt $c: redis at " "$w: $c"
        assert_contains "$ERR" "failed: WRONGPASS" "$w: $c"
    done
    for kv in "${WAY_ENV[@]}"; do export "${kv?}"; done
    start_worker "run-wrong-$w" --plugin-dir "$JOBRT_TESTKIT_DIR" -q $Q \
        "${WAY_ARGS[@]}"
    for kv in "${WAY_ENV[@]}"; do unset "${kv%%=*}"; done
    wait_worker_exit "run-wrong-$w" 5
    assert_eq 1 "$WORKER_RC" "$w: run with a wrong password: exit code"
    errors=$(grep -E '^[^ ]+ (ERROR|WARN) ' "$E2E_WORK/run-wrong-$w.log" ||
        true)
    one_line "$w: run with a wrong password" "$errors"
    assert_contains "$errors" "cannot start: redis at " "$w: run"
    assert_contains "$errors" "failed: WRONGPASS" "$w: run"
done

# ---- usage errors: exit 2, one line, for run before any plugin loads ------
# bad URLs, each holding a password
BAD_URLS=("redis://app:$APP_PW_URL@$HP:99999" "redis://app:$APP_PW_URL@"
    "redis://:$DEF_PW@$HP/not-a-db" "http://app:$APP_PW_URL@$HP"
    "redis://app:Zq7-s3cr3t%4@$HP" "unix://:$DEF_PW@relative.sock")
ENV_PW="environment JOBRT_REDIS_PASSWORD"
for c in run enqueue status cancel dlq; do
    case $c in
        run) args=(run --plugin-dir "$JOBRT_TESTKIT_DIR" -q "$Q") ;;
        enqueue) args=(enqueue "$Q" ok -v 1 -d '{}') ;;
        status) args=(status seed -q "$Q") ;;
        cancel) args=(cancel x -q "$Q") ;;
        dlq) args=(dlq list -q "$Q") ;;
    esac
    i=0
    for url in "${BAD_URLS[@]}"; do
        i=$((i + 1))
        jr "$c-bad-url-$i" -- "${args[@]}" -r "$url"
        assert_eq 2 "$RC" "$c -r <bad URL $i>: exit code ($ERR)"
        one_line "$c -r <bad URL $i>" "$ERR"
        assert_contains "$ERR" "jobrt $c: redis URL '" "$c: bad URL $i"
        assert_contains "$ERR" ":***@" "$c: bad URL $i (redacted)"
        assert_contains "$ERR" "(see 'jobrt $c --help')" "$c: bad URL $i"
        assert_eq "" "$OUT" "$c: bad URL $i: stdout"
    done
    # -r given twice, each with a password: refused without echoing them
    jr "$c-r-twice" -- "${args[@]}" -r "redis://:$DEF_PW@$HP" \
        -r "redis://app:$APP_PW_URL@$HP"
    assert_eq 2 "$RC" "$c: -r twice: exit code ($ERR)"
    one_line "$c: -r twice" "$ERR"
    assert_contains "$ERR" "given twice" "$c: -r twice"
    jr "$c-twice-env" "JOBRT_REDIS_PASSWORD=$DEF_PW" -- "${args[@]}" \
        -r "redis://:$DEF_PW@$HP"
    assert_eq 2 "$RC" "$c: password twice: exit code ($ERR)"
    one_line "$c: password twice" "$ERR"
    assert_contains "$ERR" "given twice, in the --redis URL and in $ENV_PW" \
        "$c: password twice"
    jr "$c-twice-file" "JOBRT_REDIS_PASSWORD=$DEF_PW" -- "${args[@]}" \
        -r "redis://$HP" --redis-password-file "$SECRETS/default"
    assert_eq 2 "$RC" "$c: password twice: exit code ($ERR)"
    assert_contains "$ERR" "in $ENV_PW and in --redis-password-file" \
        "$c: password twice"
    jr "$c-twice-env-file" "JOBRT_REDIS_PASSWORD_FILE=$SECRETS/default" -- \
        "${args[@]}" -r "redis://:$DEF_PW@$HP"
    assert_eq 2 "$RC" "$c: password twice: exit code ($ERR)"
    assert_contains "$ERR" "in the --redis URL and in ${ENV_PW}_FILE" \
        "$c: password twice"
    for f in missing empty; do
        jr "$c-file-$f" -- "${args[@]}" -r "redis://$HP" \
            --redis-password-file "$SECRETS/$f"
        assert_eq 2 "$RC" "$c: $f password file: exit code ($ERR)"
        one_line "$c: $f password file" "$ERR"
        assert_contains "$ERR" "--redis-password-file: '$SECRETS/$f'" \
            "$c: $f password file"
    done
    jr "$c-user-only" -- "${args[@]}" -r "redis://app:@$HP"
    assert_eq 2 "$RC" "$c: a user without a password: exit code ($ERR)"
    assert_contains "$ERR" "names user 'app' but no password" "$c: user only"
done
for f in "$OUTS"/run-*.err; do
    assert_not_contains "$(cat "$f")" " loader: " \
        "$(basename "$f"): a usage error after loading plugins"
done

# ---- nothing printed holds a password --------------------------------------
n_files=0
for f in "$OUTS"/* "$E2E_WORK"/seed.log "$E2E_WORK"/run-*.log; do
    n_files=$((n_files + 1))
    for m in "${MARKERS[@]}"; do
        if grep -q -- "$m" "$f"; then
            fail "$(basename "$f") shows a password: $(grep -- "$m" "$f")"
        fi
    done
done
log "grepped $n_files files of output for the passwords"
[ "$n_files" -ge 200 ] || fail "only $n_files output files"
pass
