dnl mod_rai_embed inside an httpd 2.4 source tree.
dnl
dnl Copy this directory to modules/rai_embed/ of the httpd sources, then
dnl
dnl   ./buildconf                     (httpd's configure picks up this file)
dnl   ./configure --enable-rai-embed=shared ...
dnl   make && make install
dnl
dnl The module is never built unless asked for (--enable-rai-embed[=shared|static]).
dnl It needs libcurl, json-c and OpenSSL's libcrypto, headers included; they are found
dnl with pkg-config (libcurl also with curl-config).  When they are missing, configure
dnl stops with an error, as the module was requested explicitly.  The module is compiled
dnl with their headers but not linked with them: each worker child loads them with
dnl dlopen() (rai_curl.h, rai_libs.h), so only -ldl is linked.
dnl
dnl Note: configure writes this directory's Makefile (from Makefile.in) and
dnl modules.mk; in an in-place build they replace the copies shipped for apxs.
dnl
dnl The refresh script, js/rai_refresh.js, is compiled in from rai_refresh_js.h,
dnl which is committed with it (scripts/js2h.sh writes it; the standalone
dnl Makefile and the shipped modules.mk remake it when the .js changes).  After
dnl editing the .js in an httpd tree, run: sh scripts/js2h.sh js/rai_refresh.js
dnl rai_refresh_js > rai_refresh_js.h

dnl RAI_EMBED_CHECK_LIBS: flags for libcurl, json-c and libcrypto, checked by
dnl compiling and linking a small program.  Sets MOD_CFLAGS and
dnl MOD_RAI_EMBED_LDADD, or enable_rai_embed=no.
AC_DEFUN([RAI_EMBED_CHECK_LIBS], [
  rai_embed_cflags=""
  rai_embed_libs=""
  rai_embed_missing=""

  AC_PATH_PROG(RAI_EMBED_CURL_CONFIG, curl-config)

  AC_MSG_CHECKING([for libcurl])
  if test -n "$PKGCONFIG" && $PKGCONFIG --exists libcurl; then
    rai_embed_cflags="$rai_embed_cflags `$PKGCONFIG --cflags libcurl`"
    rai_embed_libs="$rai_embed_libs `$PKGCONFIG --libs libcurl`"
    AC_MSG_RESULT([yes (pkg-config)])
  elif test -n "$RAI_EMBED_CURL_CONFIG"; then
    rai_embed_cflags="$rai_embed_cflags `$RAI_EMBED_CURL_CONFIG --cflags`"
    rai_embed_libs="$rai_embed_libs `$RAI_EMBED_CURL_CONFIG --libs`"
    AC_MSG_RESULT([yes (curl-config)])
  else
    rai_embed_libs="$rai_embed_libs -lcurl"
    AC_MSG_RESULT([no pkg-config or curl-config, trying -lcurl])
  fi

  AC_MSG_CHECKING([for json-c])
  if test -n "$PKGCONFIG" && $PKGCONFIG --exists json-c; then
    rai_embed_cflags="$rai_embed_cflags `$PKGCONFIG --cflags json-c`"
    rai_embed_libs="$rai_embed_libs `$PKGCONFIG --libs json-c`"
    AC_MSG_RESULT([yes (pkg-config)])
  else
    rai_embed_libs="$rai_embed_libs -ljson-c"
    AC_MSG_RESULT([no pkg-config data, trying -ljson-c])
  fi

  AC_MSG_CHECKING([for libcrypto])
  if test -n "$PKGCONFIG" && $PKGCONFIG --exists libcrypto; then
    rai_embed_cflags="$rai_embed_cflags `$PKGCONFIG --cflags libcrypto`"
    rai_embed_libs="$rai_embed_libs `$PKGCONFIG --libs libcrypto`"
    AC_MSG_RESULT([yes (pkg-config)])
  else
    rai_embed_libs="$rai_embed_libs -lcrypto"
    AC_MSG_RESULT([no pkg-config data, trying -lcrypto])
  fi

  dnl The found flags must really compile and link; the tree's own flags are kept.
  rai_embed_save_cppflags="$CPPFLAGS"
  rai_embed_save_libs="$LIBS"
  CPPFLAGS="$CPPFLAGS $rai_embed_cflags"
  LIBS="$rai_embed_libs $LIBS"
  AC_MSG_CHECKING([whether libcurl, json-c and libcrypto compile and link])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[
#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/sha.h>
]], [[
    curl_easy_cleanup(curl_easy_init());
    json_object_put(json_tokener_parse("{}"));
    (void)SHA256((const unsigned char *)"", 0, (unsigned char *)0);
]])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])
     rai_embed_missing="yes"])
  CPPFLAGS="$rai_embed_save_cppflags"
  LIBS="$rai_embed_save_libs"

  if test -n "$rai_embed_missing"; then
    AC_MSG_WARN([mod_rai_embed needs libcurl, json-c and libcrypto with their headers (Debian: libcurl4-openssl-dev libjson-c-dev libssl-dev); see config.log])
    enable_rai_embed=no
  else
    APR_ADDTO(MOD_CFLAGS, [$rai_embed_cflags])
    APR_ADDTO(MOD_RAI_EMBED_LDADD, [-ldl])
    if test "x$enable_rai_embed" = "xshared"; then
      dnl Only the module structure is needed from outside: keep the rest private.
      APR_ADDTO(MOD_RAI_EMBED_LDADD, [-export-symbols-regex rai_embed_module])
    fi
  fi
])

APACHE_MODPATH_INIT(rai_embed)

dnl Every object the module is linked from (one per .c file).
rai_embed_objs="mod_rai_embed.lo \
  mod_rai_embed_config.lo \
  mod_rai_embed_token.lo \
  mod_rai_embed_refresh.lo \
  mod_rai_embed_filter.lo \
  mod_rai_embed_cache.lo \
  mod_rai_embed_identity.lo \
  mod_rai_embed_backoff.lo \
  mod_rai_embed_metrics.lo \
  rai_scan.lo \
  rai_token.lo \
  rai_curl.lo \
  rai_libs.lo \
  rai_identity.lo \
  rai_flight.lo \
  rai_backoff.lo \
  rai_claim.lo \
  rai_headers.lo \
  rai_seal.lo \
  rai_tag.lo \
  rai_rewrite.lo \
  rai_scancache.lo \
  rai_memo.lo"

APACHE_MODULE(rai_embed, [Returning.AI embed tokens in widget elements], $rai_embed_objs, , no, [
  RAI_EMBED_CHECK_LIBS
])

APACHE_MODPATH_FINISH
