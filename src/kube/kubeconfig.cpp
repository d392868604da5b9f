#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "fluxboot/kube.hpp"
#include "fluxboot/redact.hpp"

namespace fluxboot::kube {

namespace fs = std::filesystem;

KubeconfigSelection select_kubeconfig(const fs::path& explicit_file,
                                      std::string_view kubeconfig_env, const fs::path& home,
                                      std::string context) {
  KubeconfigSelection sel;
  sel.context = std::move(context);
  if (!explicit_file.empty()) {
    sel.files.push_back(explicit_file);
    return sel;
  }
  std::size_t start = 0;
  while (start <= kubeconfig_env.size()) {
    std::size_t end = kubeconfig_env.find(':', start);
    if (end == std::string_view::npos) end = kubeconfig_env.size();
    if (end > start) sel.files.emplace_back(std::string(kubeconfig_env.substr(start, end - start)));
    start = end + 1;
  }
  if (sel.files.empty()) sel.files.push_back(home / ".kube" / "config");
  return sel;
}

std::vector<std::string> ClusterAccess::secrets() const {
  std::vector<std::string> out;
  if (!token.empty()) out.push_back(token);
  if (!client_key_pem.empty()) out.push_back(client_key_pem);
  return out;
}

namespace {

// One named entry (cluster, user or context) and the file it came from: relative paths inside it
// are relative to that file's directory.
struct Entry {
  YAML::Node node;
  fs::path file;
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::string current_context;
  fs::path current_context_file;
  std::vector<fs::path> files_read;
};

std::string files_label(const std::vector<fs::path>& files) {
  std::string out;
  for (const auto& f : files) {
    if (!out.empty()) out += ", ";
    out += f.string();
  }
  return out.empty() ? "(none)" : out;
}

std::string read_whole(const fs::path& path, const std::string& what, const fs::path& kubeconfig) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(
        fmt::format("kubeconfig {}: cannot read {} {}", kubeconfig.string(), what, path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path resolve(const std::string& p, const fs::path& kubeconfig) {
  fs::path path(p);
  if (path.is_relative()) return (kubeconfig.parent_path() / path).lexically_normal();
  return path;
}

std::string scalar(const YAML::Node& map, const char* key) {
  if (!map || !map.IsMap()) return {};
  YAML::Node v = map[key];
  if (!v || v.IsNull()) return {};
  if (!v.IsScalar()) return {};
  return v.Scalar();
}

bool boolean(const YAML::Node& map, const char* key, const fs::path& file) {
  std::string v = scalar(map, key);
  if (v.empty()) return false;
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  throw InputError(
      fmt::format("kubeconfig {}: {} must be true or false, not \"{}\"", file.string(), key, v));
}

std::string decode_data(const std::string& b64, const char* key, const std::string& owner,
                        const fs::path& file) {
  std::string out;
  if (!base64_decode(b64, out))
    throw InputError(
        fmt::format("kubeconfig {}: {}: {} is not valid base64", file.string(), owner, key));
  return out;
}

void merge_list(const YAML::Node& list, const char* section, const char* inner,
                std::map<std::string, Entry>& into, const fs::path& file) {
  if (!list || list.IsNull()) return;
  if (!list.IsSequence())
    throw InputError(fmt::format("kubeconfig {}: {} must be a list", file.string(), section));
  for (const auto& item : list) {
    std::string name = scalar(item, "name");
    if (name.empty())
      throw InputError(
          fmt::format("kubeconfig {}: an entry of {} has no name", file.string(), section));
    YAML::Node body = item[inner];
    if (body && !body.IsNull() && !body.IsMap())
      throw InputError(fmt::format("kubeconfig {}: {} \"{}\": {} must be a map", file.string(),
                                   section, name, inner));
    // kubectl: the first file (and the first entry) that defines a name wins.
    into.emplace(name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), file});
  }
}

Merged read_and_merge(const KubeconfigSelection& selection) {
  if (selection.files.empty()) throw InputError("kubeconfig: no file given");
  Merged merged;
  const bool single = selection.files.size() == 1;
  for (const auto& file : selection.files) {
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      if (single)
        throw InputError(fmt::format("kubeconfig {}: file does not exist", file.string()));
      continue;  // KUBECONFIG lists may name files that do not exist (yet)
    }
    YAML::Node root;
    try {
      root = YAML::LoadFile(file.string());
    } catch (const YAML::BadFile&) {
      throw InputError(fmt::format("kubeconfig {}: cannot read the file", file.string()));
    } catch (const YAML::Exception& e) {
      throw InputError(fmt::format("kubeconfig {}: line {}: not valid YAML: {}", file.string(),
                                   e.mark.line + 1, e.msg));
    }
    merged.files_read.push_back(file);
    if (!root || root.IsNull()) continue;  // an empty file is an empty config
    if (!root.IsMap())
      throw InputError(
          fmt::format("kubeconfig {}: not a kubeconfig (expected a map with "
                      "clusters, users and contexts)",
                      file.string()));
    merge_list(root["clusters"], "clusters", "cluster", merged.clusters, file);
    merge_list(root["users"], "users", "user", merged.users, file);
    merge_list(root["contexts"], "contexts", "context", merged.contexts, file);
    std::string current = scalar(root, "current-context");
    if (merged.current_context.empty() && !current.empty()) {
      merged.current_context = current;
      merged.current_context_file = file;
    }
  }
  if (merged.files_read.empty())
    throw InputError(fmt::format("kubeconfig: none of {} exists", files_label(selection.files)));
  return merged;
}

std::string names_of(const std::map<std::string, Entry>& m) {
  std::string out;
  for (const auto& [name, entry] : m) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out.empty() ? "none" : out;
}

void fill_cluster(ClusterAccess& access, const Entry& entry) {
  const YAML::Node& c = entry.node;
  const fs::path& file = entry.file;
  const std::string owner = "cluster \"" + access.cluster + "\"";
  access.server = scalar(c, "server");
  if (access.server.empty())
    throw InputError(fmt::format("kubeconfig {}: {} has no server", file.string(), owner));
  while (access.server.size() > 1 && access.server.back() == '/') access.server.pop_back();
  if (access.server.find("://") == std::string::npos)
    access.server = "https://" + access.server;  // kubectl defaults the scheme to https
  access.insecure_skip_tls_verify = boolean(c, "insecure-skip-tls-verify", file);
  access.tls_server_name = scalar(c, "tls-server-name");
  access.proxy_url = scalar(c, "proxy-url");

  const std::string ca_data = scalar(c, "certificate-authority-data");
  const std::string ca_file = scalar(c, "certificate-authority");
  if (!ca_data.empty() && !ca_file.empty())
    throw InputError(
        fmt::format("kubeconfig {}: {}: certificate-authority-data and "
                    "certificate-authority are both set; keep one",
                    file.string(), owner));
  if (!ca_data.empty())
    access.ca_pem = decode_data(ca_data, "certificate-authority-data", owner, file);
  if (!ca_file.empty())
    access.ca_pem = read_whole(resolve(ca_file, file), "certificate-authority", file);
  if (access.insecure_skip_tls_verify && !access.ca_pem.empty())
    throw InputError(
        fmt::format("kubeconfig {}: {}: insecure-skip-tls-verify cannot be combined "
                    "with a certificate authority (kubectl refuses it too)",
                    file.string(), owner));
}

// client.authentication.k8s.io ExecCredential: run the plugin, take status.token or the client
// certificate pair.
void run_exec_plugin(ClusterAccess& access, const YAML::Node& exec, const fs::path& file,
                     process::Runner* runner) {
  const std::string owner = "user \"" + access.user + "\"";
  if (!exec.IsMap())
    throw InputError(fmt::format("kubeconfig {}: {}: exec must be a map", file.string(), owner));
  std::string api_version = scalar(exec, "apiVersion");
  if (api_version != "client.authentication.k8s.io/v1" &&
      api_version != "client.authentication.k8s.io/v1beta1")
    throw InputError(
        fmt::format("kubeconfig {}: {}: exec apiVersion \"{}\" is not supported (use "
                    "client.authentication.k8s.io/v1)",
                    file.string(), owner, api_version));
  std::string command = scalar(exec, "command");
  if (command.empty())
    throw InputError(fmt::format("kubeconfig {}: {}: exec has no command", file.string(), owner));
  if (!runner)
    throw InputError(
        fmt::format("kubeconfig {}: {}: exec credential plugins need a process "
                    "runner",
                    file.string(), owner));
  // kubectl: a command with a path separator is relative to the kubeconfig; a bare name is
  // looked up on PATH.
  if (command.find('/') != std::string::npos) command = resolve(command, file).string();

  process::Command cmd;
  cmd.argv.push_back(command);
  if (YAML::Node args = exec["args"]; args && args.IsSequence())
    for (const auto& a : args) cmd.argv.push_back(a.as<std::string>());
  if (YAML::Node env = exec["env"]; env && env.IsSequence())
    for (const auto& e : env) cmd.env.emplace_back(scalar(e, "name"), scalar(e, "value"));

  json info = {
      {"apiVersion", api_version}, {"kind", "ExecCredential"}, {"spec", {{"interactive", false}}}};
  if (scalar(exec, "provideClusterInfo") == "true") {
    json cluster = {{"server", access.server}};
    if (!access.ca_pem.empty())
      cluster["certificate-authority-data"] = base64_encode(access.ca_pem);
    if (!access.tls_server_name.empty()) cluster["tls-server-name"] = access.tls_server_name;
    if (access.insecure_skip_tls_verify) cluster["insecure-skip-tls-verify"] = true;
    info["spec"]["cluster"] = cluster;
  }
  cmd.env.emplace_back("KUBERNETES_EXEC_INFO", info.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  cmd.mutating = false;  // a credential lookup: dry-run must run it too
  cmd.timeout = std::chrono::seconds(60);
  cmd.label = "kubeconfig exec plugin " + fs::path(command).filename().string();

  process::Result result;
  try {
    result = runner->run(cmd);
  } catch (const ToolMissingError&) {
    std::string hint = scalar(exec, "installHint");
    throw ToolMissingError(fmt::format("kubeconfig {}: {}: exec plugin {} not found{}{}",
                                       file.string(), owner, command, hint.empty() ? "" : ": ",
                                       hint));
  }
  if (result.cancelled) throw InterruptedError(process::pending_signal());
  if (!result.ok()) {
    // stderr only: stdout may hold a credential.
    std::string tail = result.err.empty() ? std::string() : ": " + result.err;
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == ' ')) tail.pop_back();
    throw StageError(fmt::format(
        "kubeconfig {}: {}: exec plugin {} {}{}", file.string(), owner, command,
        result.timed_out ? std::string("timed out") : "exited " + std::to_string(result.exit_code),
        tail));
  }
  json cred;
  try {
    cred = json::parse(result.out);
  } catch (const json::exception&) {
    throw StageError(
        fmt::format("kubeconfig {}: {}: exec plugin {} did not print an "
                    "ExecCredential (output is not JSON)",
                    file.string(), owner, command));
  }
  if (!cred.is_object() || cred.value("kind", "") != "ExecCredential" || !cred.contains("status") ||
      !cred["status"].is_object())
    throw StageError(
        fmt::format("kubeconfig {}: {}: exec plugin {} did not print an "
                    "ExecCredential with a status",
                    file.string(), owner, command));
  if (cred.value("apiVersion", "") != api_version)
    throw StageError(
        fmt::format("kubeconfig {}: {}: exec plugin {} answered apiVersion \"{}\", "
                    "expected \"{}\"",
                    file.string(), owner, command, cred.value("apiVersion", ""), api_version));
  const json& status = cred["status"];
  std::string token = status.value("token", "");
  std::string cert = status.value("clientCertificateData", "");
  std::string key = status.value("clientKeyData", "");
  if (cert.empty() != key.empty())
    throw StageError(fmt::format("kubeconfig {}: {}: exec plugin {} returned {} without {}",
                                 file.string(), owner, command,
                                 cert.empty() ? "clientKeyData" : "clientCertificateData",
                                 cert.empty() ? "clientCertificateData" : "clientKeyData"));
  if (token.empty() && cert.empty())
    throw StageError(
        fmt::format("kubeconfig {}: {}: exec plugin {} returned neither a token nor "
                    "a client certificate",
                    file.string(), owner, command));
  if (!token.empty()) access.token = token;
  if (!cert.empty()) {
    access.client_cert_pem = cert;
    access.client_key_pem = key;
  }
  access.auth = "exec plugin " + fs::path(command).filename().string();
}

void fill_user(ClusterAccess& access, const Entry& entry, process::Runner* runner) {
  const YAML::Node& u = entry.node;
  const fs::path& file = entry.file;
  const std::string owner = "user \"" + access.user + "\"";

  const std::string cert_data = scalar(u, "client-certificate-data");
  const std::string cert_file = scalar(u, "client-certificate");
  const std::string key_data = scalar(u, "client-key-data");
  const std::string key_file = scalar(u, "client-key");
  if (!cert_data.empty() && !cert_file.empty())
    throw InputError(
        fmt::format("kubeconfig {}: {}: client-certificate-data and "
                    "client-certificate are both set; keep one",
                    file.string(), owner));
  if (!key_data.empty() && !key_file.empty())
    throw InputError(
        fmt::format("kubeconfig {}: {}: client-key-data and client-key are both "
                    "set; keep one",
                    file.string(), owner));
  if (!cert_data.empty())
    access.client_cert_pem = decode_data(cert_data, "client-certificate-data", owner, file);
  if (!cert_file.empty())
    access.client_cert_pem = read_whole(resolve(cert_file, file), "client-certificate", file);
  if (!key_data.empty())
    access.client_key_pem = decode_data(key_data, "client-key-data", owner, file);
  if (!key_file.empty())
    access.client_key_pem = read_whole(resolve(key_file, file), "client-key", file);
  if (access.client_cert_pem.empty() != access.client_key_pem.empty())
    throw InputError(
        fmt::format("kubeconfig {}: {}: {} is set but {} is missing", file.string(), owner,
                    access.client_cert_pem.empty() ? "client-key" : "client-certificate",
                    access.client_cert_pem.empty() ? "client-certificate" : "client-key"));
  if (!access.client_cert_pem.empty()) access.auth = "client certificate";

  // kubectl: token wins over tokenFile.
  access.token = scalar(u, "token");
  if (!access.token.empty()) {
    access.auth = "bearer token";
  } else if (std::string token_file = scalar(u, "tokenFile"); !token_file.empty()) {
    fs::path p = resolve(token_file, file);
    access.token = read_whole(p, "tokenFile", file);
    while (!access.token.empty() && (access.token.back() == '\n' || access.token.back() == '\r' ||
                                     access.token.back() == ' '))
      access.token.pop_back();
    if (access.token.empty())
      throw InputError(fmt::format("kubeconfig {}: {}: tokenFile {} is empty", file.string(), owner,
                                   p.string()));
    access.auth = "token file " + p.string();
  }
  if (!scalar(u, "username").empty() || !scalar(u, "password").empty())
    throw InputError(
        fmt::format("kubeconfig {}: {}: basic authentication (username/password) is "
                    "not supported; Kubernetes removed it in 1.19",
                    file.string(), owner));
  if (YAML::Node exec = u["exec"]; exec && !exec.IsNull())
    run_exec_plugin(access, exec, file, runner);
  if (YAML::Node ap = u["auth-provider"]; ap && !ap.IsNull())
    throw InputError(
        fmt::format("kubeconfig {}: {}: auth-provider plugins are not supported; "
                    "use an exec credential plugin",
                    file.string(), owner));
  if (access.auth.empty()) access.auth = "no credentials";
}

}  // namespace

ClusterAccess load_kubeconfig(const KubeconfigSelection& selection, process::Runner* exec_runner) {
  Merged merged = read_and_merge(selection);
  const std::string files = files_label(merged.files_read);

  ClusterAccess access;
  access.context = selection.context.empty() ? merged.current_context : selection.context;
  if (access.context.empty())
    throw InputError(
        fmt::format("kubeconfig {}: no current-context is set; pass --context "
                    "(contexts: {})",
                    files, names_of(merged.contexts)));
  auto ctx = merged.contexts.find(access.context);
  if (ctx == merged.contexts.end())
    throw InputError(fmt::format("kubeconfig {}: context \"{}\" not found (contexts: {})", files,
                                 access.context, names_of(merged.contexts)));
  access.source = ctx->second.file;
  access.cluster = scalar(ctx->second.node, "cluster");
  access.user = scalar(ctx->second.node, "user");
  if (access.cluster.empty())
    throw InputError(fmt::format("kubeconfig {}: context \"{}\" names no cluster",
                                 ctx->second.file.string(), access.context));
  auto cluster = merged.clusters.find(access.cluster);
  if (cluster == merged.clusters.end())
    throw InputError(
        fmt::format("kubeconfig {}: context \"{}\" uses cluster \"{}\", which is not "
                    "defined (clusters: {})",
                    files, access.context, access.cluster, names_of(merged.clusters)));
  fill_cluster(access, cluster->second);

  if (!access.user.empty()) {
    auto user = merged.users.find(access.user);
    if (user == merged.users.end())
      throw InputError(
          fmt::format("kubeconfig {}: context \"{}\" uses user \"{}\", which is not "
                      "defined (users: {})",
                      files, access.context, access.user, names_of(merged.users)));
    fill_user(access, user->second, exec_runner);
  } else {
    access.auth = "no credentials";
  }
  return access;
}

}  // namespace fluxboot::kube
