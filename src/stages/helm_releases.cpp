#include "stages/helm_releases.hpp"

#include <zlib.h>

#include <map>
#include <stdexcept>

#include "fluxboot/redact.hpp"

namespace fluxboot::stages {

namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw std::runtime_error("not gzip data");
    }
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > (256u << 20)) {
      inflateEnd(&z);
      throw std::runtime_error("release larger than 256 MiB");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace

HelmReleaseRecord decode_helm_release(const std::string& data_release) {
  std::string helm_b64, gz;
  // The Secret's data is base64 (Kubernetes) of base64 (Helm) of gzip.
  if (!base64_decode(data_release, helm_b64) || !base64_decode(helm_b64, gz)) throw std::runtime_error("not base64");
  const std::string text = gz.size() >= 2 && static_cast<unsigned char>(gz[0]) == 0x1f &&
                                   static_cast<unsigned char>(gz[1]) == 0x8b
                               ? gunzip(gz)
                               : gz;  // Helm writes uncompressed JSON when gzip would not help
  auto j = nlohmann::json::parse(text);
  HelmReleaseRecord r;
  r.name = j.value("name", "");
  r.ns = j.value("namespace", "");
  r.revision = j.value("version", 0);
  if (j.contains("info") && j["info"].is_object()) r.status = j["info"].value("status", "");
  if (j.contains("chart") && j["chart"].is_object() && j["chart"].contains("metadata")) {
    r.chart = j["chart"]["metadata"].value("name", "");
    r.chart_version = j["chart"]["metadata"].value("version", "");
  }
  r.config = j.contains("config") && j["config"].is_object() ? j["config"] : nlohmann::json::object();
  return r;
}

std::vector<HelmReleaseRecord> latest_helm_releases(kube::Client& client, kube::Deadline deadline) {
  kube::ListOptions opts;
  opts.label_selector = "owner=helm";
  auto list = client.list("/api/v1/secrets", opts, deadline);
  std::map<std::string, HelmReleaseRecord> latest;  // ns/name → highest revision
  std::map<std::string, std::vector<std::pair<int, std::string>>> history;  // ns/name → (revision, status)
  const auto& items = list.contains("items") ? list["items"] : nlohmann::json::array();
  for (const auto& s : items) {
    if (!s.contains("data") || !s["data"].contains("release") || !s["data"]["release"].is_string()) continue;
    HelmReleaseRecord r;
    try {
      r = decode_helm_release(s["data"]["release"].get<std::string>());
    } catch (const std::exception&) {
      continue;
    }
    const std::string id = r.ns + "/" + r.name;
    history[id].emplace_back(r.revision, r.status);
    auto& slot = latest[id];
    if (r.revision >= slot.revision) slot = std::move(r);
  }
  std::vector<HelmReleaseRecord> out;
  for (auto& [k, v] : latest) {
    for (const auto& [rev, status] : history[k])
      if (rev < v.revision && (status == "deployed" || status == "superseded") && rev > v.last_good_revision)
        v.last_good_revision = rev;
    out.push_back(std::move(v));
  }
  return out;
}

const HelmReleaseRecord* find_release(const std::vector<HelmReleaseRecord>& records, const std::string& ns,
                                      const std::string& name) {
  for (const auto& r : records)
    if (r.name == name && r.ns == ns) return &r;
  return nullptr;
}

}  // namespace fluxboot::stages
