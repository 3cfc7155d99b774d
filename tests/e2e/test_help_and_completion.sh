# --help of every subcommand lists every -netdev type, NIC model and -object
# type of the registries with all its keys; the hidden --list-keys gives the
# same registries to the bash completion (scripts/completion/vnetkit.bash),
# which completes subcommands, types, models and keys from it and options
# from each subcommand's --help.
. "$(dirname "$0")/lib.sh"

VK --list-keys >"$WORK/keys.txt" 2>"$WORK/err.txt"
expect_eq "$?" 0 "--list-keys exits 0"
for kind in subcommand netdev device object; do
    n=$(awk -v k="$kind" '$1 == k' "$WORK/keys.txt" | wc -l)
    [ "$n" -gt 0 ] && pass "--list-keys names some $kind" || fail "--list-keys names no $kind"
done
grep -q '^netdev user .*hostfwd' "$WORK/keys.txt" && pass "user with hostfwd" || fail "no 'netdev user ... hostfwd'"
grep -q '^device e1000 .*rx-ring' "$WORK/keys.txt" && pass "e1000 with rx-ring" || fail "no 'device e1000 ... rx-ring'"
grep -q '^netdev hubport .*hubid' "$WORK/keys.txt" && pass "hubport with hubid" || fail "no 'netdev hubport ... hubid'"

# every type and key of the registries appears in each subcommand's --help
for sub in run replay; do
    VK "$sub" --help >"$WORK/help-$sub.txt" 2>/dev/null
    tr -s ' \n' '\n\n' <"$WORK/help-$sub.txt" | sort -u >"$WORK/words-$sub.txt"
    # the names and keys of --list-keys, minus the keys every type has
    awk '$1 != "subcommand" {for (i = 2; i <= NF; i++) print $i}' "$WORK/keys.txt" |
        grep -vxE 'id|type|netdev|mac' | sort -u >"$WORK/wanted.txt"
    missing=$(comm -23 "$WORK/wanted.txt" "$WORK/words-$sub.txt" | tr '\n' ' ')
    expect_eq "$missing" "" "$sub --help lists every type, model, object and key"
done

# the completion, driven as bash would (words split at '=' as COMP_WORDBREAKS does)
export PATH="$(dirname "$VNETKIT"):$PATH"
complete_line() {
    bash -c '
        . "$1"
        COMP_LINE=$2; COMP_POINT=${#2}
        line=${2//=/ = }
        read -ra COMP_WORDS <<<"$line"
        [[ $2 == *" " || $2 == *= ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _vnetkit
        echo "${COMPREPLY[*]}"' _ "$SRC/scripts/completion/vnetkit.bash" "$1"
}
expect_eq "$(complete_line 'vnetkit re')" "replay" "completes the subcommand"
expect_eq "$(complete_line 'vnetkit run -device rtl81')" "rtl8139," "completes a NIC model"
expect_eq "$(complete_line 'vnetkit run -netdev user,id=n0,hostf')" "n0,hostfwd=" \
    "completes a netdev key after an '=' bash split off"
expect_eq "$(complete_line 'vnetkit run -object filter-dump,fi')" "filter-dump,file=" \
    "completes an object key"
case " $(complete_line 'vnetkit replay --che') " in
*" --check-wire "*) pass "completes a subcommand option from its --help" ;;
*) fail "no --check-wire among the completions of 'replay --che'" ;;
esac
finish
