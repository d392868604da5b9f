// The fake sops and op (1Password CLI) of fluxboot-sim: what the bootstrap resources of the
// sops-file and kustomize + 1Password layouts need, and nothing more.
//
// sops decrypt FILE: a YAML file with sops metadata (a top-level `sops:` map listing `age`
// recipients). Encrypted values are written as sops writes them, ENC[AES256_GCM,data:...,type:T],
// but the fake's `data` is base64 of the plaintext, not ciphertext. Decryption needs an age
// identity, as the real one does: SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY) holding AGE-SECRET-KEY-.
//
// op inject: stdin to stdout with every op://vault/item/field replaced by a deterministic value
// ("sim-<vault>-<item>-<field>"); no sign-in.
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <regex>

#include <fmt/format.h>

#include "fluxboot/error.hpp"
#include "sim/api/util.hpp"
#include "sim/commands.hpp"
#include "sim/file_util.hpp"
#include "sim/yaml_json.hpp"

namespace fluxboot::sim {

namespace {

using json = nlohmann::json;

bool have_age_identity() {
  if (const char* k = std::getenv("SOPS_AGE_KEY"); k != nullptr && std::string(k).find("AGE-SECRET-KEY-") != std::string::npos)
    return true;
  const char* f = std::getenv("SOPS_AGE_KEY_FILE");
  std::string file = f != nullptr && *f ? f : "";
  if (file.empty()) {
    const char* home = std::getenv("HOME");
    if (home == nullptr) return false;
    file = std::string(home) + "/.config/sops/age/keys.txt";
  }
  try {
    return read_text(file).find("AGE-SECRET-KEY-") != std::string::npos;
  } catch (const std::exception&) {
    return false;
  }
}

void decrypt_values(json& v, const std::string& file) {
  if (v.is_object()) {
    for (auto& [k, child] : v.items()) decrypt_values(child, file);
  } else if (v.is_array()) {
    for (auto& child : v) decrypt_values(child, file);
  } else if (v.is_string()) {
    static const std::regex enc(R"(^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),.*type:(str|int|float|bool|bytes)\]$)");
    std::smatch m;
    const std::string s = v.get<std::string>();
    if (!std::regex_match(s, m, enc)) return;
    std::string plain;
    if (!api::base64_decode(m[1].str(), plain))
      throw StageError(fmt::format("Error decrypting key: cipher: message authentication failed ({})", file));
    if (m[2] == "int" || m[2] == "float" || m[2] == "bool") v = parse_yaml(plain);
    else v = plain;
  }
}

int sops_main(const std::vector<std::string>& args) {
  std::string file;
  bool decrypt = false;
  for (const auto& a : args) {
    if (a == "decrypt" || a == "-d" || a == "--decrypt") decrypt = true;
    else if (a == "--version" || a == "-v") {
      std::cout << "sops 3.13.0 (fluxboot-sim fake)\n";
      return 0;
    } else if (a == "--disable-version-check") {
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "fake sops (fluxboot-sim): unsupported flag " << a << "\n";
      return 2;
    } else {
      file = a;
    }
  }
  if (!decrypt || file.empty()) {
    std::cerr << "fake sops (fluxboot-sim): only `sops decrypt FILE` is supported\n";
    return 2;
  }
  std::string text;
  try {
    text = read_text(file);
  } catch (const std::exception&) {
    std::cerr << fmt::format("Error: cannot operate on non-existent file {}\n", file);
    return 1;
  }
  std::vector<json> docs;
  try {
    docs = parse_yaml_documents(text);
  } catch (const std::exception& e) {
    std::cerr << fmt::format("Error unmarshalling input yaml: {}\n", e.what());
    return 1;
  }
  std::string out;
  for (auto& d : docs) {
    if (!d.is_object() || !d.contains("sops") || !d["sops"].is_object()) {
      std::cerr << "sops metadata not found\n";
      return 128;
    }
    if (!have_age_identity()) {
      std::cerr << "Failed to get the data key required to decrypt the SOPS file.\n\nGroup 0: FAILED\n"
                   "  age: FAILED\n    - | failed to load age identities: no identity found\n";
      return 128;
    }
    d.erase("sops");
    decrypt_values(d, file);
    out += (out.empty() ? "" : "---\n") + json_to_yaml(d);
  }
  std::cout << out;
  return 0;
}

int op_main(const std::vector<std::string>& args) {
  if (args.size() == 1 && (args[0] == "--version" || args[0] == "-v")) {
    std::cout << "2.31.0\n";
    return 0;
  }
  if (args.empty() || args[0] != "inject") {
    std::cerr << "fake op (fluxboot-sim): only `op inject` (stdin to stdout) is supported\n";
    return 2;
  }
  std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  static const std::regex ref(R"(op://([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+))");
  std::string out;
  auto begin = std::sregex_iterator(in.begin(), in.end(), ref);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += in.substr(last, static_cast<size_t>(it->position()) - last);
    out += fmt::format("sim-{}-{}-{}", (*it)[1].str(), (*it)[2].str(), (*it)[3].str());
    last = static_cast<size_t>(it->position() + it->length());
  }
  out += in.substr(last);
  std::cout << out;
  return 0;
}

}  // namespace

int secret_tool_main(const std::string& name, const std::vector<std::string>& args) {
  return name == "op" ? op_main(args) : sops_main(args);
}

}  // namespace fluxboot::sim
