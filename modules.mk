# mod_rai_embed: link rules for httpd's build system (build/special.mk, build/rules.mk).
#
# In an httpd source tree, configure writes this file again from config.m4 (with the
# flags it found).  This copy is for building against an installed httpd's build files,
# the way `apxs -g` sets a module directory up, e.g. on Debian:
#
#   touch .deps
#   make -f Makefile.in top_srcdir=/usr/share/apache2 top_builddir=/usr/share/apache2 \
#        builddir=. srcdir=. local-shared-build
#
# which leaves .libs/mod_rai_embed.so.
#
# (The usual standalone build is still plain `make`, which uses apxs.)

rai_embed_objs = mod_rai_embed.lo mod_rai_embed_config.lo mod_rai_embed_token.lo \
                 mod_rai_embed_refresh.lo mod_rai_embed_filter.lo \
                 mod_rai_embed_cache.lo mod_rai_embed_identity.lo mod_rai_embed_backoff.lo \
                 mod_rai_embed_metrics.lo \
                 rai_scan.lo \
                 rai_token.lo rai_curl.lo rai_libs.lo rai_identity.lo rai_flight.lo rai_backoff.lo rai_claim.lo \
                 rai_headers.lo rai_seal.lo rai_tag.lo \
                 rai_rewrite.lo rai_scancache.lo rai_memo.lo

# The headers of libcurl, json-c and OpenSSL's libcrypto, from pkg-config when it knows
# them.  None of the three is linked: each worker child loads them with dlopen()
# (rai_curl.h, rai_libs.h).
RAI_EMBED_PKGS = libcurl json-c libcrypto
MOD_RAI_EMBED_LDADD ?= -ldl
MOD_CFLAGS ?= $(shell pkg-config --cflags $(RAI_EMBED_PKGS) 2>/dev/null)

mod_rai_embed.la: $(rai_embed_objs:.lo=.slo)
	$(SH_LINK) -rpath $(libexecdir) -module -avoid-version $(rai_embed_objs) $(MOD_RAI_EMBED_LDADD)

# The refresh script (js/rai_refresh.js) as a C array; the generated header is
# also committed, so a tree without this rule (configure's modules.mk) builds.
mod_rai_embed_refresh.lo mod_rai_embed_refresh.slo: rai_refresh_js.h
rai_refresh_js.h: js/rai_refresh.js scripts/js2h.sh
	sh scripts/js2h.sh js/rai_refresh.js rai_refresh_js >$@.tmp && mv $@.tmp $@

static =
shared = mod_rai_embed.la
