// The hand-off to helmfile: a derived state file next to the original, in which each release's
// gotmpl lookup is replaced by a values file the reader computed. The derived state is re-emitted
// from yaml-cpp's node tree with every scalar's style kept (plain stays plain, quoted stays
// quoted), so helmfile reads exactly what the user wrote everywhere else; comments are not carried
// over.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "fluxboot/gitops.hpp"
#include "values/internal.hpp"

namespace fluxboot::values {

using detail::json;
namespace fs = std::filesystem;

namespace {

std::string spaces(int n) { return std::string(static_cast<std::size_t>(n), ' '); }

bool plain_key_ok(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c == '\n' || c == '\r' || c == '\t' || c == '"' || c == '\\') return false;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':' ||
      s.front() == ' ' || s.back() == ' ')
    return false;
  return std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) == std::string_view::npos ||
         ((s.front() == '-' || s.front() == '?' || s.front() == ':') && s.size() > 1 &&
          s[1] != ' ');
}

std::string tag_prefix(const YAML::Node& n) {
  const std::string& tag = n.Tag();
  if (tag.empty() || tag == "?" || tag == "!") return {};
  static const std::string kLong = "tag:yaml.org,2002:";
  if (tag.rfind(kLong, 0) == 0) return "!!" + tag.substr(kLong.size()) + " ";
  if (tag.rfind('!', 0) == 0) return tag + " ";
  return "!<" + tag + "> ";
}

std::string quoted(const std::string& v) {
  return json(v).dump(-1, ' ', false,
                      json::error_handler_t::replace);  // JSON strings are YAML double-quoted
}

// A scalar as it was written: plain scalars verbatim, quoted and block scalars re-quoted.
std::string scalar_text(const YAML::Node& n, int indent) {
  if (n.IsNull()) return "null";
  const std::string& v = n.Scalar();
  std::string prefix = tag_prefix(n);
  if (n.Tag() == "?" && plain_key_ok(v)) return prefix + v;
  if (v.find('\n') != std::string::npos) {
    // A literal block keeps newlines readable; to_yaml decides whether the text allows one.
    std::string block = to_yaml(json(v));
    if (!block.empty() && block[0] == '|') {
      std::string out = prefix;
      std::size_t nl = block.find('\n');
      out += block.substr(0, nl + 1);
      std::size_t start = nl + 1;
      while (start < block.size()) {
        std::size_t end = block.find('\n', start);
        std::string line = block.substr(start, end - start);
        if (!line.empty()) out += spaces(indent) + line.substr(2);
        out += "\n";
        start = end + 1;
      }
      out.pop_back();
      return out;
    }
  }
  return prefix + quoted(v);
}

std::string key_text(const YAML::Node& k) {
  if (!k.IsScalar()) return "null";
  if (k.Tag() == "?" && plain_key_ok(k.Scalar())) return tag_prefix(k) + k.Scalar();
  return tag_prefix(k) + quoted(k.Scalar());
}

void emit_node(std::string& out, const YAML::Node& n, int indent);

void emit_value(std::string& out, const YAML::Node& v, int indent) {
  if (v.IsMap() && v.size() > 0) {
    out += tag_prefix(v).empty() ? "\n" : " " + tag_prefix(v) + "\n";
    emit_node(out, v, indent + 2);
  } else if (v.IsSequence() && v.size() > 0) {
    out += tag_prefix(v).empty() ? "\n" : " " + tag_prefix(v) + "\n";
    emit_node(out, v, indent + 2);
  } else if (v.IsMap()) {
    out += " {}\n";
  } else if (v.IsSequence()) {
    out += " []\n";
  } else if (v.IsNull() && v.Tag() != "!" && tag_prefix(v).empty()) {
    out += "\n";  // `key:` stays empty
  } else {
    out += " " + scalar_text(v, indent + 2) + "\n";
  }
}

void emit_node(std::string& out, const YAML::Node& n, int indent) {
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      out += spaces(indent) + key_text(it->first) + ":";
      emit_value(out, it->second, indent);
    }
  } else if (n.IsSequence()) {
    for (const auto& item : n) {
      if (item.IsMap() && item.size() > 0) {
        std::string body;
        emit_node(body, item, indent + 2);
        body.replace(0, static_cast<std::size_t>(indent + 2), spaces(indent) + "- ");
        out += body;
      } else {
        out += spaces(indent) + "-";
        emit_value(out, item, indent);
      }
    }
  } else {
    out += spaces(indent) + scalar_text(n, indent + 2) + "\n";
  }
}

std::string scalar_or_empty(const YAML::Node& n) {
  if (!n || !n.IsScalar()) return {};
  return n.Scalar();
}

// Writes a new file with mode 0600 (an older one of the same name, left by a killed run, is
// replaced).
void write_private(const fs::path& path, const std::string& content) {
  ::unlink(path.c_str());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    throw InputError(fmt::format("{}: cannot create: {}", path.string(), std::strerror(errno)));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw InputError(fmt::format("{}: cannot write: {}", path.string(), std::strerror(err)));
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

bool is_lookup_template(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return false;
  std::string text;
  try {
    text = detail::read_text(file);
  } catch (const InputError&) {
    return false;
  }
  std::string l = detail::lower(text);
  return l.find("helmrelease") != std::string::npos || l.find(".spec.values") != std::string::npos;
}

std::string strip_v(const std::string& v) { return !v.empty() && v[0] == 'v' ? v.substr(1) : v; }

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s)
    out.push_back(
        (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.')
            ? c
            : '_');
  return out;
}

// The pid in "<stem>.fluxboot-derived-<pid>.yaml" / "<stem>.fluxboot-values-<pid>-<ns>.<name>.yaml",
// or 0 when `name` is not a hand-off file of `stem`.
pid_t handoff_owner(const std::string& name, const std::string& stem) {
  // The derived state ends "<pid>.yaml", a values file "<pid>-<ns>.<name>.yaml".
  const std::pair<const char*, char> kinds[] = {{".fluxboot-derived-", '.'}, {".fluxboot-values-", '-'}};
  for (const auto& [kind, after_pid] : kinds) {
    const std::string prefix = stem + kind;
    if (name.compare(0, prefix.size(), prefix) != 0 || !detail::ends_with(name, ".yaml")) continue;
    std::size_t i = prefix.size();
    long pid = 0;
    while (i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])) != 0 && pid < 1'000'000'000)
      pid = pid * 10 + (name[i++] - '0');
    if (i == prefix.size() || i >= name.size()) continue;
    if (name[i] != after_pid) continue;
    return static_cast<pid_t>(pid);
  }
  return 0;
}

// A run killed by SIGKILL leaves its hand-off behind (values computed from Secrets among it).
// Files whose process is gone are removed; a live process's files (a concurrent run, a dry run,
// `values --all`) are never touched. A reused pid only keeps a stale file a little longer.
void sweep_stale_handoffs(const fs::path& dir, const std::string& stem, std::vector<std::string>& warnings) {
  std::error_code ec;
  std::map<pid_t, std::size_t> removed;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const pid_t pid = handoff_owner(e.path().filename().string(), stem);
    if (pid <= 0 || pid == ::getpid()) continue;
    if (::kill(pid, 0) == 0 || errno == EPERM) continue;  // alive
    std::error_code rm;
    if (fs::remove(e.path(), rm)) ++removed[pid];
  }
  for (const auto& [pid, n] : removed)
    warnings.push_back(fmt::format("removed {} file{} left in {} by an interrupted run (pid {}, no longer running)",
                                   n, n == 1 ? "" : "s", dir.string(), pid));
}

}  // namespace

Handoff::~Handoff() { remove(); }

void Handoff::remove() noexcept {
  for (const auto& f : files_) {
    std::error_code ec;
    fs::remove(f, ec);
  }
  files_.clear();
}

// A plain-YAML state file checked before any stage changes the cluster: duplicate keys (go-yaml
// refuses them), `releases:` that is not a list, no release at all, a release without a name, or
// the same namespace/name twice. Each problem with its line; all reported together.
static void validate_state(const std::string& text, const std::string& source) {
  Problems problems;
  std::size_t releases = 0;
  bool saw_releases_key = false;
  bool delegated = false;
  std::set<std::string> seen;
  for (const auto& d : gitops::split_documents(text, source)) {
    json doc;
    try {
      doc = parse_yaml(d.text, Dialect::GoYamlV3, source);
    } catch (const InputError& e) {
      // parse_yaml counts lines from the document's start; shift to the file's.
      std::string msg = e.what();
      const std::string prefix = source + ":";
      if (msg.rfind(prefix, 0) == 0 && d.line > 1) {
        std::size_t end = prefix.size();
        int n = 0;
        while (end < msg.size() && std::isdigit(static_cast<unsigned char>(msg[end]))) n = n * 10 + (msg[end++] - '0');
        if (end > prefix.size()) msg = fmt::format("{}{}{}", prefix, n + d.line - 1, msg.substr(end));
      }
      problems.add(msg);
      continue;
    }
    if (doc.is_null()) continue;
    if (!doc.is_object()) {
      problems.add(fmt::format("{}:{}: a helmfile state document must be a mapping", source, d.line));
      continue;
    }
    // Releases may come from elsewhere: sub-helmfiles, or bases that define them.
    if (doc.contains("helmfiles") || doc.contains("bases")) delegated = true;
    if (!doc.contains("releases")) continue;
    saw_releases_key = true;
    const json& rel = doc["releases"];
    if (rel.is_null()) continue;
    if (!rel.is_array()) {
      problems.add(fmt::format("{}: 'releases' must be a list of releases, not {}", source,
                               rel.is_object() ? "a mapping" : "a scalar"));
      continue;
    }
    for (std::size_t i = 0; i < rel.size(); ++i) {
      const json& r = rel[i];
      if (!r.is_object() || !r.contains("name") || !r["name"].is_string() || r["name"].get<std::string>().empty()) {
        problems.add(fmt::format("{}: releases[{}] has no name", source, i));
        continue;
      }
      ++releases;
      const std::string key = (r.contains("namespace") && r["namespace"].is_string() ? r["namespace"].get<std::string>() : "") +
                              "/" + r["name"].get<std::string>();
      if (!seen.insert(key).second)
        problems.add(fmt::format("{}: release {} is listed twice", source, key));
    }
  }
  if (problems.empty() && releases == 0 && !delegated)
    problems.add(fmt::format("{}: no releases{} (an empty helmfile would wait out the whole stage deadline "
                             "doing nothing)",
                             source, saw_releases_key ? "" : " and no 'releases:' key"));
  problems.throw_if_any("invalid helmfile state");
}

std::unique_ptr<Handoff> derive_helmfile(const Config& config, const fs::path& state_file,
                                         const Options& options) {
  std::unique_ptr<Handoff> h(new Handoff());
  const fs::path state = config.abs(state_file).lexically_normal();
  const std::string source = detail::display_path(state, config.root);
  h->state_file_ = state;
  // Reported through Handoff::warnings() only (the stages print them once from there).
  auto warn = [&](const std::string& m) { h->warnings_.push_back(m); };
  std::string text = detail::read_text(state);
  if (text.find("{{") != std::string::npos) {
    warn(fmt::format(
        "{} is a Go template: it goes to helmfile unchanged, so its values come from its own "
        "templates, not from fluxboot's HelmRelease reader",
        source));
    return h;
  }
  validate_state(text, source);
  auto docs = detail::load_nodes(text, source);
  const fs::path dir = state.parent_path();
  const std::string stem = state.stem().string();
  sweep_stale_handoffs(dir, stem, h->warnings_);
  Options reader_options = options;
  reader_options.warn = nullptr;
  Reader reader(config, reader_options);
  std::set<std::string> reported;
  auto warn_once = [&](const std::string& m) {
    if (reported.insert(m).second) warn(m);
  };

  for (auto& doc : docs) {
    YAML::Node releases = doc.IsMap() ? doc["releases"] : YAML::Node();
    if (!releases || !releases.IsSequence()) continue;
    for (std::size_t i = 0; i < releases.size(); ++i) {
      YAML::Node rel = releases[i];
      if (!rel.IsMap()) continue;
      const std::string name = scalar_or_empty(rel["name"]);
      const std::string ns = scalar_or_empty(rel["namespace"]);
      if (name.empty()) continue;
      YAML::Node values = rel["values"];
      std::vector<std::size_t> lookups;
      if (values && values.IsSequence()) {
        for (std::size_t k = 0; k < values.size(); ++k) {
          const YAML::Node entry = values[k];
          if (entry.IsScalar() && detail::ends_with(entry.Scalar(), ".gotmpl") &&
              is_lookup_template(dir / entry.Scalar()))
            lookups.push_back(k);
        }
      }
      const bool no_values =
          !values || values.IsNull() || (values.IsSequence() && values.size() == 0);
      if (ns.empty()) {
        if (!lookups.empty())
          throw InputError(
              fmt::format("{}: release {} reads its values from a HelmRelease but has no namespace",
                          source, name));
        continue;
      }
      ReleaseRef ref{ns, name};
      std::error_code ec;
      const bool has_hr = fs::is_regular_file(reader.helmrelease_file(ref), ec);
      const bool generate = !lookups.empty() || (no_values && has_hr);

      if (generate) {
        ComputedValues cv = reader.compute(ref);
        for (const auto& w : cv.warnings) warn_once(w);
        h->secrets_.insert(h->secrets_.end(), cv.secrets.begin(), cv.secrets.end());
        const std::string file =
            fmt::format("{}.fluxboot-values-{}-{}.{}.yaml", stem, ::getpid(), safe_name(ns), safe_name(name));
        const fs::path path = dir / file;
        std::string content = fmt::format(
            "# Values fluxboot computed for {} from {}.\n# Removed when the stage ends; "
            "do not edit.\n",
            ref.str(), detail::display_path(cv.file, config.root));
        content += cv.yaml;
        h->files_.push_back(path);
        write_private(path, content);
        YAML::Node replaced(YAML::NodeType::Sequence);
        bool placed = false;
        if (values && values.IsSequence()) {
          for (std::size_t k = 0; k < values.size(); ++k) {
            if (std::find(lookups.begin(), lookups.end(), k) != lookups.end()) {
              if (!placed) replaced.push_back("./" + file);
              placed = true;
            } else {
              replaced.push_back(values[k]);
            }
          }
        }
        if (!placed) replaced.push_back("./" + file);
        rel["values"] = replaced;
        h->releases_.push_back(ref);
      }

      if (!has_hr) continue;
      std::optional<Chart> chart;
      const bool missing_chart = !rel["chart"] || scalar_or_empty(rel["chart"]).empty();
      const bool missing_version = !rel["version"] || scalar_or_empty(rel["version"]).empty();
      try {
        chart = reader.chart(ref);
      } catch (const InputError& e) {
        if (missing_chart || missing_version) throw;
        warn_once(fmt::format("{}: release {}: {}", source, ref.str(), e.what()));
      }
      if (!chart) {
        if (missing_chart)
          throw InputError(
              fmt::format("{}: release {} has no chart and its HelmRelease names no chart source",
                          source, ref.str()));
        continue;
      }
      std::string chart_value = chart->url;
      if (!chart->is_oci()) {
        // An https HelmRepository: helmfile needs a repositories entry and "<repo>/<chart>".
        std::string repo_name = chart->source.substr(std::string("HelmRepository ").size());
        repo_name = repo_name.substr(0, repo_name.find(' '));
        chart_value = repo_name + "/" + chart->name;
        if (missing_chart) {
          YAML::Node repos = doc["repositories"];
          bool present = false;
          if (repos && repos.IsSequence())
            for (const auto& r : repos)
              if (scalar_or_empty(r["name"]) == repo_name) present = true;
          if (!present) {
            YAML::Node entry;
            entry["name"] = repo_name;
            entry["url"] = chart->url;
            doc["repositories"].push_back(entry);
          }
        }
      }
      if (missing_chart) {
        rel["chart"] = chart_value;
      } else if (chart->is_oci() && scalar_or_empty(rel["chart"]) != chart_value) {
        warn_once(fmt::format("{}: release {} installs chart {} but {} names {} (drift)", source,
                              ref.str(), scalar_or_empty(rel["chart"]), chart->source,
                              chart_value));
      }
      if (missing_version) {
        if (!chart->version.empty()) {
          rel["version"] = chart->version;
        } else if (!chart->digest.empty()) {
          warn_once(fmt::format(
              "{}: release {}: {} pins a digest ({}), which helmfile cannot pin; no version set",
              source, ref.str(), chart->source, chart->digest));
        }
      } else {
        const std::string have = scalar_or_empty(rel["version"]);
        if (!chart->version.empty() && strip_v(have) != strip_v(chart->version))
          warn_once(fmt::format(
              "{}: release {} pins version {} but {} has {} (drift: Flux will install {})", source,
              ref.str(), have, chart->source, chart->version, chart->version));
      }
    }
  }

  std::string out =
      fmt::format("# Derived by fluxboot from {} for one run; removed when the stage ends.\n",
                  state.filename().string());
  bool first = true;
  for (const auto& doc : docs) {
    if (!first) out += "---\n";
    first = false;
    emit_node(out, doc, 0);
  }
  // Per process: a concurrent run (or `values --all`, or a dry run) never overwrites or
  // removes another process's hand-off.
  const fs::path derived = dir / fmt::format("{}.fluxboot-derived-{}.yaml", stem, ::getpid());
  h->files_.insert(h->files_.begin(), derived);
  write_private(derived, out);
  h->state_file_ = derived;
  h->derived_ = true;
  return h;
}

std::vector<ReleaseRef> releases_in(const fs::path& state_file) {
  const std::string source = state_file.string();
  std::string text = detail::read_text(state_file);
  auto scalar_at = [](const detail::YNode* map, std::string_view key) -> const detail::YNode* {
    if (map == nullptr || map->kind != detail::YNode::Kind::Map) return nullptr;
    for (std::size_t i = 0; i + 1 < map->items.size(); i += 2)
      if (map->items[i]->kind == detail::YNode::Kind::Scalar && map->items[i]->value == key)
        return map->items[i + 1];
    return nullptr;
  };
  auto parse = [&](const std::string& t) {
    std::vector<ReleaseRef> out;
    auto tree = detail::load_documents(t, source);
    for (const auto& doc : tree.docs) {
      const detail::YNode* releases = scalar_at(doc.node, "releases");
      if (releases == nullptr || releases->kind != detail::YNode::Kind::Sequence) continue;
      for (const detail::YNode* r : releases->items) {
        const detail::YNode* name = scalar_at(r, "name");
        const detail::YNode* ns = scalar_at(r, "namespace");
        if (name == nullptr || name->kind != detail::YNode::Kind::Scalar || name->value.empty())
          continue;
        out.push_back(ReleaseRef{
            ns != nullptr && ns->kind == detail::YNode::Kind::Scalar ? ns->value : std::string(),
            name->value});
      }
    }
    return out;
  };
  if (text.find("{{") == std::string::npos) return parse(text);
  // A templated state: drop the template lines and read what remains.
  std::string kept;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string line =
        text.substr(start, nl == std::string::npos ? std::string::npos : nl - start + 1);
    if (line.find("{{") == std::string::npos) kept += line;
    start = nl == std::string::npos ? text.size() : nl + 1;
  }
  return parse(kept);
}

}  // namespace fluxboot::values
