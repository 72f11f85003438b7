#!/bin/sh
# Make the web console's translation catalog with Babel, as tools/i18n.sh does the
# touchscreen's:
#
#   1. extract every _(), N_() and ngettext() string of office/ (its Python and its
#      Jinja templates) into office/web/locale/locker-office.pot,
#   2. bring each language's .po up to date with it,
#   3. compile each .po into the .mo next to it, which is committed.
#
# New or changed strings show up untranslated in the .po, and
# tests/office/test_console_languages.py fails until a translator has seen to them.
set -eu
cd "$(dirname "$0")/.."

PYBABEL=${PYBABEL:-.venv/bin/pybabel}
DOMAIN=locker-office
LOCALES=office/web/locale
POT=$LOCALES/$DOMAIN.pot
LANGUAGES="de $*"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

same() {
    [ -f "$2" ] || return 1
    grep -v -e '^"POT-Creation-Date:' -e '^"PO-Revision-Date:' "$1" >"$tmp/a"
    grep -v -e '^"POT-Creation-Date:' -e '^"PO-Revision-Date:' "$2" >"$tmp/b"
    cmp -s "$tmp/a" "$tmp/b"
}

keep() {
    if same "$1" "$2"; then
        echo "unchanged: $2"
    else
        mkdir -p "$(dirname "$2")"
        cp "$1" "$2"
        echo "written:   $2"
    fi
}

"$PYBABEL" --quiet extract --mapping-file=office/web/babel.cfg --no-default-keywords \
    --keyword=_ --keyword=N_ --keyword=ngettext:1,2 --add-comments=TRANSLATORS: \
    --project=locker-office --version=0.1 --copyright-holder="the locker-kiosk authors" \
    --output-file="$tmp/$DOMAIN.pot" office
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
