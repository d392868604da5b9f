#include "kube/curl_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include <fmt/format.h>

#include "fluxboot/error.hpp"

namespace fluxboot::kube {

namespace {

std::string load(CurlApi& api) {
  void* lib = nullptr;
  for (const char* name : {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl-nss.so.4"}) {
    lib = ::dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib != nullptr) break;
  }
  if (lib == nullptr) {
    const char* why = ::dlerror();
    return fmt::format("libcurl cannot be loaded ({}): install it (Debian/Ubuntu: apt-get install libcurl4)",
                       why != nullptr ? why : "libcurl.so.4 not found");
  }
  std::string missing;
  auto sym = [&](auto& slot, const char* name) {
    void* p = ::dlsym(lib, name);
    if (p == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(p);
  };
  sym(api.global_init, "curl_global_init");
  sym(api.easy_init, "curl_easy_init");
  sym(api.easy_setopt, "curl_easy_setopt");
  sym(api.easy_getinfo, "curl_easy_getinfo");
  sym(api.easy_cleanup, "curl_easy_cleanup");
  sym(api.easy_reset, "curl_easy_reset");
  sym(api.easy_strerror, "curl_easy_strerror");
  sym(api.multi_init, "curl_multi_init");
  sym(api.multi_add_handle, "curl_multi_add_handle");
  sym(api.multi_remove_handle, "curl_multi_remove_handle");
  sym(api.multi_perform, "curl_multi_perform");
  sym(api.multi_poll, "curl_multi_poll");
  sym(api.multi_info_read, "curl_multi_info_read");
  sym(api.multi_cleanup, "curl_multi_cleanup");
  sym(api.multi_strerror, "curl_multi_strerror");
  sym(api.slist_append, "curl_slist_append");
  sym(api.slist_free_all, "curl_slist_free_all");
  sym(api.url, "curl_url");
  sym(api.url_set, "curl_url_set");
  sym(api.url_get, "curl_url_get");
  sym(api.url_cleanup, "curl_url_cleanup");
  sym(api.free, "curl_free");
  if (!missing.empty()) return "the installed libcurl is too old (it lacks " + missing + "): fluxboot needs 7.66 or newer";
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return "libcurl: curl_global_init failed";
  return {};
}

}  // namespace

const CurlApi& curl() {
  static CurlApi api{};
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] { error = load(api); });
  if (!error.empty()) throw ToolMissingError(error);
  return api;
}

}  // namespace fluxboot::kube
