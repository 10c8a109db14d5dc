# jobrt.bash - bash completion for jobrt: command names, each command's
# options, subcommands (dlq list|show|retry|purge), and directories or
# files where an option or argument takes DIR, FILE or PATH.
#
# Nothing here lists a command or an option: the words come from the
# --help text of the very binary being completed (`jobrt --help` for the
# commands, `jobrt CMD --help` for a command's usage line and options),
# read the first time they are needed and kept for the shell's life, one
# copy per binary path. So the completion cannot drift from the binary.
# Installed as ${datadir}/bash-completion/completions/jobrt; to try it
# from a checkout: `. contrib/completion/jobrt.bash`.

declare -gA _JOBRT_HELP_CACHE=()

# _jobrt_help BIN [CMD]: sets REPLY to `BIN [CMD] --help` (cached).
_jobrt_help()
{
    local key="$1|${2-}"
    if [[ -z ${_JOBRT_HELP_CACHE[$key]+set} ]]; then
        _JOBRT_HELP_CACHE[$key]=$("$1" ${2:+"$2"} --help 2>/dev/null </dev/null)
    fi
    REPLY=${_JOBRT_HELP_CACHE[$key]}
}

# _jobrt_commands BIN: sets REPLY to the names in the Commands: section.
_jobrt_commands()
{
    local line in_cmds=0 names=()
    _jobrt_help "$1"
    while IFS= read -r line; do
        if [[ $line == "Commands:" ]]; then
            in_cmds=1
        elif ((in_cmds)); then
            [[ -z $line ]] && break
            [[ $line =~ ^\ \ ([a-z][a-z0-9_-]*)\ \  ]] &&
                names+=("${BASH_REMATCH[1]}")
        fi
    done <<<"$REPLY"
    REPLY="${names[*]}"
}

# _jobrt_parse BIN CMD: reads CMD's help into
#   _jobrt_opts     every option spelling (--name and -x), and --help
#   _jobrt_meta     option spelling -> its placeholder (DIR, N, ...)
#   _jobrt_subs     subcommands: the usage's "a|b|c" after the command
#   _jobrt_posarg   what the usage's positional arguments are: dir, file,
#                   command or nothing
_jobrt_parse()
{
    local line in_opts=0 first=1 word i w
    _jobrt_opts=() _jobrt_subs=() _jobrt_posarg=""
    _jobrt_meta=()
    _jobrt_help "$1" "$2"
    while IFS= read -r line; do
        if ((first)); then
            first=0
            [[ $line == Usage:* ]] || return 1
            read -ra word <<<"${line#Usage: }"
            [[ ${word[2]-} =~ ^[a-z]+(\|[a-z]+)+$ ]] &&
                IFS='|' read -ra _jobrt_subs <<<"${word[2]}"
            # a placeholder right after an option is that option's value
            # ("--plugin-dir DIR"); after anything else ("[--plugin-dir]
            # DIR", "help [COMMAND]") it is a positional argument
            for ((i = 2; i < ${#word[@]}; i++)); do
                [[ ${word[i - 1]} == -* ]] && continue
                w=${word[i]}
                case "${w//[][()]/}" in
                    DIR) _jobrt_posarg="dir" ;;
                    FILE | PATH) _jobrt_posarg="file" ;;
                    COMMAND) _jobrt_posarg="command" ;;
                esac
            done
            continue
        fi
        if [[ $line == "Options:" ]]; then
            in_opts=1
            continue
        fi
        ((in_opts)) || continue
        if [[ $line =~ ^\ \ (-([A-Za-z0-9]),\ |\ \ \ \ )--([a-z0-9-]+)(\ ([^ ]+))?\  ]]; then
            _jobrt_opts+=("--${BASH_REMATCH[3]}")
            [[ -n ${BASH_REMATCH[2]} ]] && _jobrt_opts+=("-${BASH_REMATCH[2]}")
            if [[ -n ${BASH_REMATCH[5]} ]]; then
                _jobrt_meta["--${BASH_REMATCH[3]}"]=${BASH_REMATCH[5]}
                [[ -n ${BASH_REMATCH[2]} ]] &&
                    _jobrt_meta["-${BASH_REMATCH[2]}"]=${BASH_REMATCH[5]}
            fi
        fi
    done <<<"$REPLY"
    return 0
}

# _jobrt_values META CUR: COMPREPLY for the value of an option taking META.
_jobrt_values()
{
    case "$1" in
        DIR) mapfile -t COMPREPLY < <(compgen -d -- "$2") ;;
        FILE | PATH) mapfile -t COMPREPLY < <(compgen -f -- "$2") ;;
        *) COMPREPLY=() ;;
    esac
    case "$1" in
        DIR | FILE | PATH) compopt -o filenames 2>/dev/null ;;
    esac
    return 0
}

_jobrt()
{
    local cur=${COMP_WORDS[COMP_CWORD]} bin=${COMP_WORDS[0]}
    local -a _jobrt_opts=() _jobrt_subs=()
    local -A _jobrt_meta=()
    local _jobrt_posarg="" REPLY cmd first i w n_pos=0 only_pos=0
    COMPREPLY=()
    bin=${bin/#\~/$HOME}
    command -v "$bin" >/dev/null 2>&1 || return 0

    if ((COMP_CWORD == 1)) && [[ $cur != -* ]]; then
        _jobrt_commands "$bin"
        mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
        return 0
    fi
    # as main.c does: a first argument that is an option means `jobrt run`
    if [[ ${COMP_WORDS[1]} == -* ]]; then
        cmd=run first=1
    else
        cmd=${COMP_WORDS[1]} first=2
    fi
    _jobrt_parse "$bin" "$cmd" || return 0

    # --opt VALUE and --opt=VALUE (bash splits the latter at '=')
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    if [[ $cur == "=" && -n $prev && -n ${_jobrt_meta[$prev]+set} ]]; then
        _jobrt_values "${_jobrt_meta[$prev]}" ""
        return 0
    fi
    if [[ $prev == "=" ]] && ((COMP_CWORD >= 2)); then
        w=${COMP_WORDS[COMP_CWORD - 2]}
        if [[ -n $w && -n ${_jobrt_meta[$w]+set} ]]; then
            _jobrt_values "${_jobrt_meta[$w]}" "$cur"
            return 0
        fi
    fi

    # what comes before the word: option values skipped, positionals counted
    for ((i = first; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((only_pos)) || [[ $w != -* ]]; then
            n_pos=$((n_pos + 1))
        elif [[ $w == "--" ]]; then
            only_pos=1
        elif [[ -n ${_jobrt_meta[$w]+set} ]]; then
            if [[ ${COMP_WORDS[i + 1]-} == "=" ]]; then
                i=$((i + 2)) # --opt = value
            else
                i=$((i + 1))
            fi
            if ((i == COMP_CWORD)); then
                _jobrt_values "${_jobrt_meta[$w]}" "$cur"
                return 0
            fi
        fi
    done

    if ((!only_pos)) && [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${_jobrt_opts[*]}" -- "$cur")
    elif ((${#_jobrt_subs[@]} > 0 && n_pos == 0)); then
        mapfile -t COMPREPLY < <(compgen -W "${_jobrt_subs[*]}" -- "$cur")
    elif [[ $_jobrt_posarg == command ]]; then
        _jobrt_commands "$bin"
        mapfile -t COMPREPLY < <(compgen -W "$REPLY" -- "$cur")
    elif [[ $_jobrt_posarg == dir || $_jobrt_posarg == file ]]; then
        _jobrt_values "${_jobrt_posarg^^}" "$cur"
    fi
    return 0
}

complete -F _jobrt jobrt
