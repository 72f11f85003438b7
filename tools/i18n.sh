#!/bin/sh
# Make the touchscreen's translation catalogs with Babel:
#
#   1. extract every _(), N_() and ngettext() string of kiosk/ui into
#      kiosk/ui/locale/locker-kiosk.pot,
#   2. bring each language's .po up to date with it (or start one: `tools/i18n.sh fr`),
#   3. compile each .po into the .mo next to it, which is committed: a fresh clone
#      works without this script.
#
# Safe to run again: a file is rewritten only when more than its dates would change.
# New or changed strings then show up untranslated (or "fuzzy") in the .po, and
# tests/ui/test_languages.py fails until a translator has seen to them.
set -eu
cd "$(dirname "$0")/.."

PYBABEL=${PYBABEL:-.venv/bin/pybabel}
DOMAIN=locker-kiosk
LOCALES=kiosk/ui/locale
POT=$LOCALES/$DOMAIN.pot
LANGUAGES="de $*"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The same file, apart from the dates Babel writes into the header?
same() {
    [ -f "$2" ] || return 1
    grep -v -e '^"POT-Creation-Date:' -e '^"PO-Revision-Date:' "$1" >"$tmp/a"
    grep -v -e '^"POT-Creation-Date:' -e '^"PO-Revision-Date:' "$2" >"$tmp/b"
    cmp -s "$tmp/a" "$tmp/b"
}

# Replace $2 by $1 if they differ in more than their dates; say so.
keep() {
    if same "$1" "$2"; then
        echo "unchanged: $2"
    else
        mkdir -p "$(dirname "$2")"
        cp "$1" "$2"
        echo "written:   $2"
    fi
}

"$PYBABEL" --quiet extract --mapping-file=babel.cfg --no-default-keywords \
    --keyword=_ --keyword=N_ --keyword=ngettext:1,2 --add-comments=TRANSLATORS: \
    --project=locker-kiosk --version=0.1 --copyright-holder="the locker-kiosk authors" \
    --output-file="$tmp/$DOMAIN.pot" kiosk/ui
keep "$tmp/$DOMAIN.pot" "$POT"

for lang in $LANGUAGES; do
    po=$LOCALES/$lang/LC_MESSAGES/$DOMAIN.po
    mo=$LOCALES/$lang/LC_MESSAGES/$DOMAIN.mo
    if [ -f "$po" ]; then
        cp "$po" "$tmp/$lang.po"
        "$PYBABEL" --quiet update --ignore-obsolete --input-file="$POT" \
            --output-file="$tmp/$lang.po" --locale="$lang" --domain="$DOMAIN"
    else
        "$PYBABEL" --quiet init --input-file="$POT" --output-file="$tmp/$lang.po" \
            --locale="$lang" --domain="$DOMAIN"
    fi
    keep "$tmp/$lang.po" "$po"
    "$PYBABEL" --quiet compile --input-file="$po" --output-file="$tmp/$lang.mo" \
        --locale="$lang" --domain="$DOMAIN"
    if cmp -s "$tmp/$lang.mo" "$mo"; then
        echo "unchanged: $mo"
    else
        cp "$tmp/$lang.mo" "$mo"
        echo "written:   $mo"
    fi
done
