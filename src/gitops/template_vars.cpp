// The variables home-ops recipes compute before rendering a node's machine-config templates,
// computed here the same way and without a network:
//   schematic / ENV.SCHEMATIC   the Image Factory ID of the node's schematic. The factory's ID is
//                               the SHA-256 of the schematic marshalled by Go's yaml.v3 in its
//                               struct order (siderolabs/image-factory pkg/schematic), so it is a
//                               pure function of the file: `curl -X POST --data-binary @schematic
//                               https://factory.talos.dev/schematics` returns the same ID.
//   <key> / ENV.<KEY>           each scalar of <templates>/version.yaml (talos_version, k8s_version),
//                               as `yq .k8s_version version.yaml` recipes export them.
// The user's environment wins over both.
#include <algorithm>
#include <cctype>
#include <regex>
#include <system_error>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "fluxboot/gitops.hpp"
#include "fluxboot/sha256.hpp"
#include "gitops/yaml_support.hpp"

namespace fluxboot::gitops {

namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

std::string rel(const Config& c, const fs::path& p) { return p.lexically_relative(c.root).generic_string(); }

class Emitter {
 public:
  explicit Emitter(std::string source) : source_(std::move(source)) {}

  // A string as yaml.v3 writes it: plain unless it would read back as another type (then
  // double-quoted). Strings whose quoting fluxboot does not reproduce byte for byte (spaces,
  // quotes, leading indicators, non-ASCII) are refused rather than hashed wrongly.
  std::string scalar(const std::string& s, const YAML::Node& at) const {
    static const std::regex strict_int(R"(^[-+]?[0-9]+$)");
    static const std::regex strict_float(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
    static const std::regex base60(R"(^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$)");
    static const char* kWords[] = {"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
                                   "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
                                   "off", "Off", "OFF", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf",
                                   ".nan", ".NaN", ".NAN"};
    if (s.empty()) return "\"\"";
    for (const char* w : kWords)
      if (s == w) return "\"" + s + "\"";
    for (unsigned char ch : s)
      if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\'' || ch == '\\') refuse(s, at);
    if (std::string("?:,[]{}#&*!|>%@`").find(s.front()) != std::string::npos) refuse(s, at);
    if (s.back() == ':') refuse(s, at);
    if (std::regex_match(s, base60) || std::regex_match(s, strict_int) || std::regex_match(s, strict_float))
      return "\"" + s + "\"";
    // Something number-like that is neither: Go's number syntax (0x1f, 1_000, 0o17) may still
    // read it as a number; fluxboot does not guess.
    const bool numeric_start = std::isdigit(static_cast<unsigned char>(s.front())) ||
                               ((s.front() == '-' || s.front() == '+' || s.front() == '.') && s.size() > 1 &&
                                std::isdigit(static_cast<unsigned char>(s[1])));
    if (numeric_start && s.find_first_not_of("0123456789abcdefABCDEFxXoObB_.+-") == std::string::npos)
      refuse(s, at);
    return s;
  }

  [[noreturn]] void refuse(const std::string& s, const YAML::Node& at) const {
    throw InputError(fmt::format(
        "{}: '{}' needs YAML quoting that fluxboot does not reproduce exactly, so it cannot compute the Image "
        "Factory ID offline; get it with `curl -X POST --data-binary @<rendered schematic> "
        "https://factory.talos.dev/schematics` and export SCHEMATIC",
        detail::where(source_, at), s));
  }

  [[noreturn]] void fail(const YAML::Node& at, const std::string& what) const {
    throw InputError(fmt::format("{}: {}", detail::where(source_, at), what));
  }

  // Keys of `map` must be among `known` (the factory decodes with KnownFields).
  void known(const YAML::Node& map, const std::string& where, std::initializer_list<const char*> keys) const {
    if (!map.IsMap()) fail(map, fmt::format("{} must be a mapping", where));
    for (const auto& kv : map) {
      const std::string k = kv.first.Scalar();
      if (std::none_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; }))
        fail(kv.first, fmt::format("'{}{}' is not a field of an Image Factory schematic (the factory refuses it)",
                                   where.empty() ? "" : where + ".", k));
    }
  }

  std::vector<std::string> strings(const YAML::Node& seq, const std::string& where) const {
    std::vector<std::string> out;
    if (!seq || seq.IsNull()) return out;
    if (!seq.IsSequence()) fail(seq, fmt::format("{} must be a list", where));
    for (const auto& item : seq) {
      if (!item.IsScalar()) fail(item, fmt::format("{} must hold strings", where));
      out.push_back(scalar(item.Scalar(), item));
    }
    return out;
  }

 private:
  std::string source_;
};

}  // namespace

std::string image_factory_schematic_id(const std::string& text, const std::string& source) {
  auto docs = detail::parse_yaml_all(text, source);
  YAML::Node doc;
  bool found = false;
  for (const auto& d : docs)
    if (d.IsDefined() && !d.IsNull()) {
      if (found) throw InputError(fmt::format("{}: a schematic is one YAML document", detail::where(source, d)));
      doc = d;
      found = true;
    }
  Emitter e(source);
  std::string overlay, custom;
  if (found) {
    e.known(doc, "", {"overlay", "customization"});
    if (const YAML::Node o = doc["overlay"]; o && !o.IsNull()) {
      e.known(o, "overlay", {"image", "name", "options"});
      const std::string image = o["image"] ? e.scalar(o["image"].Scalar(), o["image"]) : "\"\"";
      const std::string name = o["name"] ? e.scalar(o["name"].Scalar(), o["name"]) : "\"\"";
      std::string options;
      if (const YAML::Node opt = o["options"]; opt && !opt.IsNull()) {
        if (!opt.IsMap()) e.fail(opt, "overlay.options must be a mapping");
        std::vector<std::pair<std::string, std::string>> kv;
        for (const auto& p : opt) {
          if (!p.second.IsScalar()) e.refuse(p.first.Scalar() + ": <not a scalar>", p.second);
          kv.emplace_back(e.scalar(p.first.Scalar(), p.first), e.scalar(p.second.Scalar(), p.second));
        }
        std::sort(kv.begin(), kv.end());
        for (const auto& [k, v] : kv) options += fmt::format("        {}: {}\n", k, v);
      }
      if (image != "\"\"" || name != "\"\"" || !options.empty())
        overlay = fmt::format("overlay:\n    image: {}\n    name: {}\n{}", image, name,
                              options.empty() ? "" : "    options:\n" + options);
    }
    if (const YAML::Node c = doc["customization"]; c && !c.IsNull()) {
      e.known(c, "customization", {"extraKernelArgs", "meta", "systemExtensions", "secureboot"});
      auto args = e.strings(c["extraKernelArgs"], "customization.extraKernelArgs");
      if (!args.empty()) {
        custom += "    extraKernelArgs:\n";
        for (const auto& a : args) custom += "        - " + a + "\n";
      }
      if (const YAML::Node meta = c["meta"]; meta && !meta.IsNull()) {
        if (!meta.IsSequence()) e.fail(meta, "customization.meta must be a list");
        std::string items;
        for (const auto& m : meta) {
          e.known(m, "customization.meta[]", {"key", "value"});
          long key = -1;
          try {
            key = std::stol(m["key"] ? m["key"].Scalar() : std::string("x"), nullptr, 0);
          } catch (const std::exception&) {
          }
          if (key < 0 || key > 255) e.fail(m, "customization.meta[].key must be a number from 0 to 255");
          const std::string value = m["value"] ? e.scalar(m["value"].Scalar(), m["value"]) : "\"\"";
          items += fmt::format("        - key: {}\n          value: {}\n", key, value);
        }
        if (!items.empty()) custom += "    meta:\n" + items;
      }
      if (const YAML::Node se = c["systemExtensions"]; se && !se.IsNull()) {
        e.known(se, "customization.systemExtensions", {"officialExtensions"});
        auto ext = e.strings(se["officialExtensions"], "customization.systemExtensions.officialExtensions");
        if (!ext.empty()) {
          custom += "    systemExtensions:\n        officialExtensions:\n";
          for (const auto& x : ext) custom += "            - " + x + "\n";
        }
      }
      if (const YAML::Node sb = c["secureboot"]; sb && !sb.IsNull()) {
        e.known(sb, "customization.secureboot", {"includeWellKnownCertificates"});
        const YAML::Node w = sb["includeWellKnownCertificates"];
        if (w && w.IsScalar() && (w.Scalar() == "true" || w.Scalar() == "True" || w.Scalar() == "TRUE"))
          custom += "    secureboot:\n        includeWellKnownCertificates: true\n";
        else if (w && !(w.IsScalar() && (w.Scalar() == "false" || w.Scalar() == "False" || w.Scalar() == "FALSE")))
          e.fail(w, "customization.secureboot.includeWellKnownCertificates must be true or false");
      }
    }
  }
  const std::string canonical = overlay + (custom.empty() ? "customization: {}\n" : "customization:\n" + custom);
  return sha256_hex(canonical);
}

TemplateVars machineconfig_template_vars(const Config& config, const NodeSpec& node,
                                         const std::map<std::string, std::string>& env) {
  TemplateVars tv;
  tv.env = env;
  if (node.config_templates.empty()) return tv;
  const fs::path dir = config.abs(config.paths.talos_templates);

  // version.yaml: one variable per scalar, and ENV.<KEY> for recipes that export it.
  for (const char* name : {"version.yaml", "versions.yaml"}) {
    const fs::path f = dir / name;
    if (!is_file(f)) continue;
    const std::string display = rel(config, f);
    const YAML::Node doc = detail::parse_yaml(detail::read_text(f, display), display);
    if (!doc.IsMap()) throw InputError(fmt::format("{}: expected a mapping of versions", display));
    for (const auto& kv : doc) {
      if (!kv.second.IsScalar()) continue;
      const std::string key = kv.first.Scalar();
      tv.vars.emplace(key, kv.second.Scalar());
      std::string upper = key;
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      tv.env.emplace(upper, kv.second.Scalar());  // emplace: the environment wins
    }
    tv.sources.push_back(display);
    break;
  }

  // The node's schematic: its own, its role's, else the shared one.
  const fs::path patch = node.config_templates.back();
  const std::string stem = node.address;
  std::vector<fs::path> candidates;
  for (const char* ext : {".schematic.yaml.j2", ".schematic.yaml"}) {
    std::error_code ec;
    if (fs::is_directory(dir / "nodes", ec))
      for (const auto& e : fs::directory_iterator(dir / "nodes", ec))
        if (e.is_directory(ec)) candidates.push_back(e.path() / (stem + ext));
    candidates.push_back(dir / "nodes" / (stem + ext));
  }
  if (patch.parent_path() != dir && patch.parent_path().parent_path() == dir)  // <role>/<node>.yaml
    for (const char* f : {"schematic.yaml.j2", "schematic.yaml"}) candidates.push_back(patch.parent_path() / f);
  for (const char* f : {"schematic.yaml.j2", "schematic.yaml"}) candidates.push_back(dir / f);
  for (const auto& f : candidates) {
    if (!is_file(f)) continue;
    const std::string display = rel(config, f);
    tv.schematic_file = display;
    try {
      std::string text = detail::read_text(f, display);
      if (f.extension() == ".j2") text = render_template(text, tv.env, display, nullptr, &tv.vars);
      const std::string id = image_factory_schematic_id(text, display);
      tv.vars.emplace("schematic", id);
      tv.env.emplace("SCHEMATIC", id);
      tv.sources.push_back(display);
    } catch (const InputError& e) {
      tv.problem = e.what();
    }
    break;
  }
  return tv;
}

}  // namespace fluxboot::gitops
