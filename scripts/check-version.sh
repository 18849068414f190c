#!/bin/sh
# Fails when debian/changelog's version differs from RAI_EMBED_VERSION in
# rai_version.h, the one place the version is written down.  Run by
# debian/rules (so every package build checks it) and by `make deb`.
set -eu
cd "$(dirname "$0")/.."

source_version=$(sed -n 's/^#define RAI_EMBED_VERSION "\(.*\)"$/\1/p' rai_version.h)
[ -n "$source_version" ] || { echo "check-version: no RAI_EMBED_VERSION in rai_version.h" >&2; exit 1; }

# The changelog's top entry: "mod-rai-embed (VERSION) ..."; an epoch or a
# Debian revision (1:0.1.0-2) may wrap the upstream version.
package_version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' debian/changelog)
upstream=${package_version#*:}
upstream=${upstream%-*}

if [ "$upstream" != "$source_version" ]; then
    echo "check-version: debian/changelog says $package_version but rai_version.h says $source_version;" >&2
    echo "check-version: add a changelog entry: dch -v $source_version 'New upstream release.'" >&2
    exit 1
fi
