#include "examples/getpage/request_builder.h"

#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "web_client/multipart.h"

namespace getpage {
namespace {

std::string withoutNewlines(std::string text) {
  std::erase_if(text, [](char c) { return c == '\r' || c == '\n'; });
  return text;
}

bool isToken(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c <= ' ' || c >= 127 || c == ':' || c == ';') return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> readFileOrStdin(std::string_view name) {
  if (name == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  std::ifstream file{std::string(name), std::ios::binary};
  if (!file) return std::nullopt;
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

std::string urlencode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c == ' ') {
      out += '+';  // application/x-www-form-urlencoded, as curl's --data-urlencode
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> RequestBuilder::addData(std::string_view value, DataKind kind) {
  auto cannotRead = [](std::string_view name) {
    return "(26) Failed to open/read local data from file/application: " + std::string(name);
  };
  switch (kind) {
    case DataKind::kRaw:
      data_.emplace_back(value);
      return std::nullopt;
    case DataKind::kData:
    case DataKind::kBinary: {
      if (!value.starts_with("@")) {
        data_.emplace_back(value);
        return std::nullopt;
      }
      std::optional<std::string> contents = readFileOrStdin(value.substr(1));
      if (!contents) return cannotRead(value.substr(1));
      data_.push_back(kind == DataKind::kData ? withoutNewlines(std::move(*contents))
                                              : std::move(*contents));
      return std::nullopt;
    }
    case DataKind::kUrlencode: {
      // curl's forms: "content", "=content", "name=content", "@file", "name@file".
      const std::size_t equals = value.find('=');
      const std::size_t at = value.find('@');
      if (equals != std::string_view::npos && (at == std::string_view::npos || equals < at)) {
        const std::string_view name = value.substr(0, equals);
        const std::string encoded = urlencode(value.substr(equals + 1));
        data_.push_back(name.empty() ? encoded : std::string(name) + "=" + encoded);
        return std::nullopt;
      }
      if (at != std::string_view::npos) {
        const std::string_view name = value.substr(0, at);
        std::optional<std::string> contents = readFileOrStdin(value.substr(at + 1));
        if (!contents) return cannotRead(value.substr(at + 1));
        const std::string encoded = urlencode(*contents);
        data_.push_back(name.empty() ? encoded : std::string(name) + "=" + encoded);
        return std::nullopt;
      }
      data_.push_back(urlencode(value));
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::optional<std::string> RequestBuilder::addJson(std::string_view value) {
  json_ = true;
  return addData(value, DataKind::kBinary);
}

std::optional<std::string> RequestBuilder::setUpload(std::string_view file) {
  if (file != "-" && ::access(std::string(file).c_str(), R_OK) != 0) {
    return "(26) Failed to open/read local data from file/application: " + std::string(file);
  }
  upload_ = std::string(file);
  const std::size_t slash = file.rfind('/');
  uploadName_ = file == "-" ? "" : std::string(slash == std::string_view::npos ? file : file.substr(slash + 1));
  return std::nullopt;
}

std::optional<std::string> RequestBuilder::addFormPart(std::string_view spec, bool literal) {
  const std::size_t equals = spec.find('=');
  if (equals == std::string_view::npos) return "-F needs 'name=content', not '" + std::string(spec) + "'";
  FormPart part;
  part.name = std::string(spec.substr(0, equals));
  std::string_view content = spec.substr(equals + 1);
  if (literal || (!content.starts_with("@") && !content.starts_with("<"))) {
    part.value = std::string(content);
    form_.push_back(std::move(part));
    return std::nullopt;
  }
  const bool file = content.starts_with("@");
  content.remove_prefix(1);
  // ";type=..." and ";filename=..." after the file's name.
  std::vector<std::string_view> pieces;
  for (std::size_t start = 0;;) {
    const std::size_t semicolon = content.find(';', start);
    pieces.push_back(content.substr(start, semicolon == std::string_view::npos ? std::string_view::npos : semicolon - start));
    if (semicolon == std::string_view::npos) break;
    start = semicolon + 1;
  }
  const std::string path(pieces[0]);
  for (std::size_t i = 1; i < pieces.size(); ++i) {
    if (pieces[i].starts_with("type=")) part.type = std::string(pieces[i].substr(5));
    if (pieces[i].starts_with("filename=")) part.filename = std::string(pieces[i].substr(9));
  }
  if (file) {
    if (::access(path.c_str(), R_OK) != 0) {
      return "(26) Failed to open/read local data from file/application: " + path;
    }
    part.file = true;
    part.value = path;
  } else {
    std::optional<std::string> contents = readFileOrStdin(path);
    if (!contents) return "(26) Failed to open/read local data from file/application: " + path;
    part.value = std::move(*contents);
  }
  form_.push_back(std::move(part));
  return std::nullopt;
}

std::optional<std::string> RequestBuilder::addHeader(std::string_view raw) {
  const std::size_t colon = raw.find(':');
  if (colon != std::string_view::npos && isToken(raw.substr(0, colon))) {
    std::string_view value = raw.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) {
      headers_.push_back({std::string(raw.substr(0, colon)), std::nullopt});  // "Name:" removes
    } else {
      headers_.push_back({std::string(raw.substr(0, colon)), std::string(value)});
    }
    return std::nullopt;
  }
  if (raw.ends_with(";") && isToken(raw.substr(0, raw.size() - 1))) {
    headers_.push_back({std::string(raw.substr(0, raw.size() - 1)), std::string()});
    return std::nullopt;
  }
  return "-H needs 'Name: value', 'Name:' or 'Name;', not '" + std::string(raw) + "'";
}

void RequestBuilder::apply(std::string& url, deft::web::PageOptions& page) const {
  // --json pieces follow one another as they are; the others are form fields, joined with '&'.
  const std::string body = absl::StrJoin(data_, json_ ? "" : "&");
  if (get_ && !data_.empty()) {
    const std::size_t hash = url.find('#');
    if (hash != std::string::npos) url.erase(hash);
    url += (url.find('?') == std::string::npos ? "?" : "&") + body;
  }
  if (upload_ && url.ends_with("/")) url += urlencode(uploadName_);
  page.method = method_           ? *method_
                : head_           ? "HEAD"
                : upload_         ? "PUT"
                : (!data_.empty() && !get_) || !form_.empty() ? "POST"
                                  : "GET";
  deft::http::Headers& headers = page.headers;
  headers.set("Accept", json_ ? "application/json" : "*/*");
  if (range_) headers.set("Range", "bytes=" + *range_);
  if (userAgent_) headers.set("User-Agent", *userAgent_);
  if (referer_) headers.set("Referer", *referer_);
  if (user_) {
    std::string credentials = *user_;
    if (credentials.find(':') == std::string::npos) credentials += ':';
    headers.set("Authorization", "Basic " + absl::Base64Escape(credentials));
  }
  if (upload_) {
    if (absl::StatusOr<deft::web::RequestBody> file = deft::web::RequestBody::fromFile(*upload_); file.ok()) {
      page.bodyStream = std::move(*file);
    }
    page.expectContinue = true;  // curl asks before any upload
  } else if (!form_.empty()) {
    deft::web::MultipartForm form;
    for (const FormPart& part : form_) {
      if (part.file) {
        (void)form.addFile(part.name, part.value, part.type, part.filename);  // checked by addFormPart
      } else {
        form.addField(part.name, part.value, part.type);
      }
    }
    if (absl::StatusOr<deft::web::RequestBody> body = form.body(); body.ok()) page.bodyStream = std::move(*body);
    headers.set("Content-Type", form.contentType());
  } else if (!data_.empty() && !get_) {
    page.body = body;
    headers.set("Content-Type", json_ ? "application/json" : "application/x-www-form-urlencoded");
  }
  // A custom header replaces one of curl's own of that name; custom ones of a name add up.
  std::vector<std::string> customized;
  for (const HeaderEdit& edit : headers_) {
    if (!edit.value) {
      headers.remove(edit.name);
      if (::strcasecmp(edit.name.c_str(), "Expect") == 0) page.expectContinue = false;
      continue;
    }
    const bool again = std::any_of(customized.begin(), customized.end(), [&](const std::string& n) {
      return n.size() == edit.name.size() && ::strncasecmp(n.data(), edit.name.data(), n.size()) == 0;
    });
    if (again) {
      headers.add(edit.name, *edit.value);
    } else {
      headers.set(edit.name, *edit.value);
      customized.push_back(edit.name);
    }
  }
}

}  // namespace getpage
