#pragma once
// libcurl, loaded the first time the API client needs it (dlopen "libcurl.so.4") instead of at
// process start: libcurl and its 29 dependencies cost 13 ms of loader time on every run,
// including `fluxboot --version` and `--help` (docs/benchmarks.md, "Startup"). Module-private.
#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK  // curl_easy_setopt is called through a pointer, not the macro
#endif
#include <curl/curl.h>

namespace fluxboot::kube {

struct CurlApi {
  decltype(&::curl_global_init) global_init;
  decltype(&::curl_easy_init) easy_init;
  decltype(&::curl_easy_setopt) easy_setopt;
  decltype(&::curl_easy_getinfo) easy_getinfo;
  decltype(&::curl_easy_cleanup) easy_cleanup;
  decltype(&::curl_easy_reset) easy_reset;
  decltype(&::curl_easy_strerror) easy_strerror;
  decltype(&::curl_multi_init) multi_init;
  decltype(&::curl_multi_add_handle) multi_add_handle;
  decltype(&::curl_multi_remove_handle) multi_remove_handle;
  decltype(&::curl_multi_perform) multi_perform;
  decltype(&::curl_multi_poll) multi_poll;
  decltype(&::curl_multi_info_read) multi_info_read;
  decltype(&::curl_multi_cleanup) multi_cleanup;
  decltype(&::curl_multi_strerror) multi_strerror;
  decltype(&::curl_slist_append) slist_append;
  decltype(&::curl_slist_free_all) slist_free_all;
  decltype(&::curl_url) url;
  decltype(&::curl_url_set) url_set;
  decltype(&::curl_url_get) url_get;
  decltype(&::curl_url_cleanup) url_cleanup;
  decltype(&::curl_free) free;
};

// The loaded library (once, thread-safe; curl_global_init done). ToolMissingError (exit 4) when
// libcurl cannot be loaded or lacks a function (older than 7.66, which added curl_multi_poll).
const CurlApi& curl();

}  // namespace fluxboot::kube
