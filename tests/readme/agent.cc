#include "web_client/agent.h"
#include "web_client/multipart.h"
using namespace deft;

// Logs in with a form that carries a file, then reads a page the session cookie opens.
Deferred<std::string> logInAndRead(std::string base, std::string avatar) {
  web::AgentOptions options;
  options.cookieJar = std::make_shared<web::CookieJar>();  // RFC 6265, public suffixes refused
  options.proxy = web::ProxySettings::fromEnvironment();   // http_proxy, https_proxy, no_proxy
  options.readTimeout = absl::Seconds(30);                 // no byte for 30 s: ReadTimeoutError
  auto agent = std::make_shared<web::Agent>(reactor(), options);

  web::MultipartForm form;  // streamed: the file is read as the connection takes it
  form.addField("user", "alice");
  if (absl::Status added = form.addFile("avatar", avatar); !added.ok()) {
    throw std::runtime_error(std::string(added.message()));
  }
  http::Headers headers;
  headers.set("Content-Type", form.contentType());
  web::RequestBody body = form.body().value();
  web::Response login = co_await agent->request("POST", base + "/login", headers, body);
  co_await login.readBody();  // its Set-Cookie is in the jar now

  web::RequestOptions compressed;
  compressed.decodeContent = true;  // gzip, deflate, br, zstd, decoded as the body arrives
  web::Response page = co_await agent->request("GET", base + "/account", {}, std::string(), compressed);
  co_return co_await page.readBody();
}
