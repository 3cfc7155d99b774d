# bash completion for vnetkit (installed as
# share/bash-completion/completions/vnetkit).  It keeps no list of its own:
# subcommands, -netdev/-nic types, -device models, -object types and their
# keys come from the binary's registries (`vnetkit --list-keys`), and each
# subcommand's long options from its --help.

# The whitespace-delimited word being completed and the one before it, read
# from the line itself: bash splits words at '=' (COMP_WORDBREAKS), which
# would cut "user,id=n0,ne" in pieces.
_vnetkit_words()
{
    local line=${COMP_LINE:0:COMP_POINT}
    local -a toks
    read -ra toks <<<"$line"
    if [[ $line == *[[:space:]] || ${#toks[@]} -eq 0 ]]; then
        _vk_cur=
        _vk_prev=${toks[${#toks[@]}-1]}
        _vk_index=${#toks[@]}
    else
        _vk_cur=${toks[${#toks[@]}-1]}
        _vk_prev=${toks[${#toks[@]}-2]}
        _vk_index=$((${#toks[@]} - 1))
    fi
}

_vnetkit()
{
    local prog=${COMP_WORDS[0]} table kind bashcur=${COMP_WORDS[COMP_CWORD]}
    local _vk_cur _vk_prev _vk_index
    _vnetkit_words
    table=$("$prog" --list-keys 2>/dev/null) || return 0
    COMPREPLY=()
    if ((_vk_index == 1)); then
        COMPREPLY=($(compgen -W "$(awk '$1 == "subcommand" {print $2}' <<<"$table") --help --version" -- "$_vk_cur"))
        return 0
    fi
    case $_vk_prev in
    -netdev | --netdev | -nic | --nic) kind=netdev ;;
    -device | --device) kind=device ;;
    -object | --object) kind=object ;;
    -chardev | --chardev) kind=chardev ;;
    --topology | --trace | --trace-dir | --report | --update-expected)
        COMPREPLY=($(compgen -f -- "$bashcur"))
        return 0
        ;;
    esac
    if [[ -n $kind ]]; then
        if [[ $_vk_cur != *,* ]]; then
            COMPREPLY=($(compgen -W "$(awk -v k="$kind" '$1 == k {print $2}' <<<"$table")" -- "$_vk_cur"))
            [[ ${#COMPREPLY[@]} -eq 1 ]] && COMPREPLY[0]+=, && compopt -o nospace 2>/dev/null
            return 0
        fi
        local type=${_vk_cur%%,*} last=${_vk_cur##*,}
        [[ $last == *=* ]] && return 0 # a value: nothing to offer
        local keys
        keys=$(awk -v k="$kind" -v t="$type" \
            '$1 == k && $2 == t {for (i = 3; i <= NF; i++) if ($i != "type") print $i "="}' <<<"$table")
        local prefix=${bashcur%"$last"}
        COMPREPLY=($(compgen -P "$prefix" -W "$keys" -- "$last"))
        compopt -o nospace 2>/dev/null
        return 0
    fi
    if [[ $_vk_cur == -* ]]; then
        local sub=${COMP_WORDS[1]} opts
        opts=$("$prog" "$sub" --help 2>/dev/null | grep -o -- '--[a-z][a-z-]*' | sort -u)
        COMPREPLY=($(compgen -W "$opts -netdev -device -nic -net -object -chardev" -- "$_vk_cur"))
        return 0
    fi
    COMPREPLY=($(compgen -f -- "$bashcur"))
    return 0
}
complete -F _vnetkit vnetkit
