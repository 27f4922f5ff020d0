/* cw.c: the ConnectWise Manage REST client, one HTTP, authentication and
 * retry layer for every dq program that talks to ConnectWise.
 *
 * Requests are queued with a callback and run by dq_cw_run on one curl
 * multi handle: up to --parallel in flight over kept-alive connections,
 * callbacks free to queue more (a request that depends on another is
 * queued when that one has answered). A list is fetched page by page; the
 * first page's Link header names the last page, and the remaining pages
 * then go out at once. 429 waits for Retry-After, 5xx and network faults
 * back off exponentially with jitter, other 4xx are final.
 *
 * Secrets stay in this file: they go to libcurl and nowhere else, never
 * into a message, a log line or a URL. */
#include <config.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include "dq.h"

/* The model version asked for: the 2026.4 schema is what the field names
 * used by dq were checked against. */
#define CW_ACCEPT "Accept: application/vnd.connectwise.com+json; version=2026.4"
#define CW_PAGE_SIZE 1000
#define CW_BACKOFF_CAP_MS 30000
#define CW_RETRY_AFTER_CAP_S 120

struct cw_list;

struct cw_req {
	struct dq_cw *cw;
	const char *method;
	char *path;		/* below the API base, no leading slash */
	char *query;		/* encoded, or NULL */
	char *shown;		/* the query as a person reads it, for --verbose */
	char *body;		/* JSON, for writes */
	bool absolute;		/* path is a whole URL (dq_http_post) */
	bool resend;		/* a POST the receiver deduplicates: retried
				 * like any write */
	struct curl_slist *headers;	/* its own, or NULL: the client's */
	dq_cw_fn fn;
	void *arg;
	struct cw_list *list;
	int page;
	int attempt;
	long long due;		/* monotonic ms it may start at */
	long long started;
	CURL *easy;
	struct dq_buf reply;
	long retry_after;	/* seconds; -1 when not given */
	long last_page;		/* from Link rel="last"; 0 when not given */
	char errbuf[CURL_ERROR_SIZE];
	struct cw_req *next;
};

struct cw_list {
	char *path, *conditions, *fields;
	dq_cw_fn fn;
	void *arg;
	json_object **pages;
	int known, done;
	bool failed;
};

struct dq_cw {
	char *base;			/* the API base URL, no trailing slash */
	char *user, *password;		/* company+public key, private key */
	struct curl_slist *headers, *write_headers;
	CURLM *multi;
	struct cw_req *pending;		/* queued, not started; FIFO */
	int running, parallel;
	long backoff_ms;
	int done, total;		/* requests, for the progress line */
	int shown_done, shown_total;
	bool progress;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Credentials */

struct cw_settings {
	char *url, *company, *public_key, *private_key, *client_id;
};

static const struct cw_key {
	const char *file_key, *env;
	size_t offset;
	const char *what;
} cw_keys[] = {
	{ "cw-url", "DQ_CW_URL", offsetof(struct cw_settings, url),
	  "site URL" },
	{ "cw-company", "DQ_CW_COMPANY", offsetof(struct cw_settings, company),
	  "company id" },
	{ "cw-public-key", "DQ_CW_PUBLIC_KEY",
	  offsetof(struct cw_settings, public_key), "public key" },
	{ "cw-private-key", "DQ_CW_PRIVATE_KEY",
	  offsetof(struct cw_settings, private_key), "private key" },
	{ "cw-client-id", "DQ_CW_CLIENT_ID",
	  offsetof(struct cw_settings, client_id), "client id" },
};

#define NKEYS (sizeof cw_keys / sizeof cw_keys[0])

static char **
setting(struct cw_settings *s, const struct cw_key *k)
{
	return (char **)((char *)s + k->offset);
}

static void
set_from_file(const char *path, size_t lineno, const char *key,
    const char *val, void *arg)
{
	struct cw_settings *s = arg;
	const char *names[NKEYS];

	for (size_t i = 0; i < NKEYS; i++) {
		names[i] = cw_keys[i].file_key;
		if (strcmp(key, cw_keys[i].file_key) != 0)
			continue;
		if (!*val)
			dq_die(DQ_EXIT_CONFIG, "%s: line %zu: %s needs a value",
			    path, lineno, key);
		free(*setting(s, &cw_keys[i]));
		*setting(s, &cw_keys[i]) = xstrdup(val);
		return;
	}
	/* Neither is quoted: a line may hold nothing but a pasted key. */
	dq_die(DQ_EXIT_CONFIG, "%s: line %zu: unknown key%s", path, lineno,
	    dq_did_you_mean(key, names, NKEYS, true));
}

/* A file anyone else can read holds no secret any more: refuse it. The
 * mode is checked on the open descriptor, so it is this file's. */
FILE *
dq_open_private(const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		dq_die(errno == ENOENT ? DQ_EXIT_NOINPUT : DQ_EXIT_CONFIG,
		    "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		dq_die(DQ_EXIT_CONFIG, "%s: not a regular file", path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		dq_die(DQ_EXIT_CONFIG, "%s: %s is open to other users (mode "
		    "%04o); chmod 600 it", path, what,
		    (unsigned)(st.st_mode & 07777));
	return fdopen(fd, "r");
}

static void
read_credentials(struct cw_settings *s, const char *path)
{
	FILE *fp = dq_open_private(path, "credentials file");

	dq_config_read(fp, path, set_from_file, s);
	fclose(fp);
}

/* A file named by --credentials or DQ_CW_CREDENTIALS wins over the
 * environment, which fills in the rest; the environment wins over a
 * file found in the default places, so a shell's own DQ_CW_* is what
 * that shell uses. */
static void
load_settings(struct cw_settings *s)
{
	const char *named = dq_policy.credentials;
	char *found = NULL;

	if (!named || !*named)
		named = getenv("DQ_CW_CREDENTIALS");
	if (named && *named)
		read_credentials(s, named);
	else if ((found = dq_config_path("connectwise")))
		read_credentials(s, found);
	for (size_t i = 0; i < NKEYS; i++) {
		char **v = setting(s, &cw_keys[i]);
		const char *env = getenv(cw_keys[i].env);

		if (env && *env && (!*v || found)) {
			if (*v)
				explicit_bzero(*v, strlen(*v));
			free(*v);
			*v = xstrdup(env);
		}
		if (!*v)
			dq_die(DQ_EXIT_CONFIG, "no ConnectWise %s: set %s or %s "
			    "in a credentials file", cw_keys[i].what,
			    cw_keys[i].env, cw_keys[i].file_key);
	}
	free(found);
}

static bool
loopback_address(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(
	    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
}

/* An address literal in 127.0.0.0/8 or ::1, or localhost when every
 * address it resolves to is one: a name is never judged by how it
 * looks (127.example.com is anybody's). */
static bool
is_loopback(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *a;
	struct in_addr v4;
	struct in6_addr v6;
	char bare[64];
	size_t len = strlen(host);
	bool all = true;

	if (len >= 2 && host[0] == '[' && host[len - 1] == ']' &&
	    len - 2 < sizeof bare) {
		memcpy(bare, host + 1, len - 2);
		bare[len - 2] = '\0';
		return inet_pton(AF_INET6, bare, &v6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&v6);
	}
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&v6);
	if (strcasecmp(host, "localhost") != 0 ||
	    getaddrinfo(host, NULL, &hints, &res) != 0)
		return false;
	for (a = res; a; a = a->ai_next)
		all = all && loopback_address(a->ai_addr);
	freeaddrinfo(res);
	return all;
}

/* https anywhere; plain http only to this machine (tests, a local proxy),
 * where nothing crosses a network in the clear. Returns why url is
 * refused, or NULL. */
static const char *
url_refusal(const char *url)
{
	static char why[512];
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *user = NULL;

	why[0] = '\0';
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		snprintf(why, sizeof why, "not a URL");
	else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK)
		snprintf(why, sizeof why, "must not carry credentials");
	else if (strcmp(scheme, "https") != 0 &&
	    !(strcmp(scheme, "http") == 0 && is_loopback(host)))
		snprintf(why, sizeof why, "%s:// to %s refused; use https "
		    "(plain http only to a loopback address)", scheme, host);
	curl_free(user);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return why[0] ? why : NULL;
}

static void
check_url(const char *url)
{
	const char *why = url_refusal(url);

	if (why)
		dq_die(DQ_EXIT_CONFIG, "ConnectWise site URL: %s%s", why,
		    strcmp(why, "not a URL") ? "" :
		    "; expected https://HOST/CODEBASE/apis/3.0");
}

static void
free_settings(struct cw_settings *s)
{
	for (size_t i = 0; i < NKEYS; i++) {
		char *v = *setting(s, &cw_keys[i]);

		if (v)
			explicit_bzero(v, strlen(v));
		free(v);
	}
}

static long
env_backoff(void)
{
	const char *s = getenv("DQ_CW_BACKOFF_MS");
	char *end;
	long n;

	if (!s || !*s)
		return 500;
	n = strtol(s, &end, 10);
	if (*end || n < 0 || n > CW_BACKOFF_CAP_MS)
		dq_die(DQ_EXIT_CONFIG, "DQ_CW_BACKOFF_MS: expected milliseconds "
		    "from 0 to %d, not \"%s\"", CW_BACKOFF_CAP_MS, s);
	return n;
}

/* What every client has: libcurl, the multi handle and the settings. */
static struct dq_cw *
new_client(void)
{
	struct dq_cw *cw = xcalloc(1, sizeof *cw);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		dq_die(DQ_EXIT_SOFTWARE, "cannot initialise libcurl");
	cw->multi = curl_multi_init();
	cw->parallel = (int)dq_policy.parallel;
	cw->backoff_ms = env_backoff();
	cw->progress = isatty(STDERR_FILENO) && !dq_policy.verbose &&
	    !dq_policy.quiet;
	cw->shown_done = cw->shown_total = -1;
	srandom((unsigned)(now_ms() ^ getpid()));
	return cw;
}

struct dq_cw *
dq_cw_open(void)
{
	struct cw_settings s = { 0 };
	struct dq_cw *cw;
	char *client;
	size_t len;

	load_settings(&s);
	check_url(s.url);
	cw = new_client();
	len = strlen(s.url);
	while (len > 0 && s.url[len - 1] == '/')
		len--;
	cw->base = dq_asprintf("%.*s", (int)len, s.url);
	cw->user = dq_asprintf("%s+%s", s.company, s.public_key);
	cw->password = xstrdup(s.private_key);
	client = dq_asprintf("clientId: %s", s.client_id);
	cw->headers = curl_slist_append(NULL, CW_ACCEPT);
	cw->headers = curl_slist_append(cw->headers, client);
	cw->write_headers = curl_slist_append(NULL, CW_ACCEPT);
	cw->write_headers = curl_slist_append(cw->write_headers, client);
	cw->write_headers = curl_slist_append(cw->write_headers,
	    "Content-Type: application/json");
	/* No 100-continue round trip before a small body. */
	cw->write_headers = curl_slist_append(cw->write_headers, "Expect:");
	if (!cw->headers || !cw->write_headers)
		dq_out_of_memory();
	free(client);
	free_settings(&s);
	curl_multi_setopt(cw->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)cw->parallel);
	return cw;
}

struct dq_cw *
dq_http_open(void)
{
	struct dq_cw *cw = new_client();

	cw->write_headers = curl_slist_append(NULL,
	    "Content-Type: application/json");
	cw->write_headers = curl_slist_append(cw->write_headers, "Expect:");
	cw->write_headers = curl_slist_append(cw->write_headers,
	    "User-Agent: dq/" PACKAGE_VERSION);
	if (!cw->write_headers)
		dq_out_of_memory();
	return cw;
}

const char *
dq_http_refusal(const char *url)
{
	return url_refusal(url);
}

void
dq_cw_close(struct dq_cw *cw)
{
	curl_multi_cleanup(cw->multi);
	curl_slist_free_all(cw->headers);
	curl_slist_free_all(cw->write_headers);
	if (cw->password)
		explicit_bzero(cw->password, strlen(cw->password));
	free(cw->password);
	free(cw->user);
	free(cw->base);
	free(cw);
	curl_global_cleanup();
}

/* Queueing */

static struct cw_req *
new_req(struct dq_cw *cw, const char *method, const char *path)
{
	struct cw_req *r = xcalloc(1, sizeof *r);

	r->cw = cw;
	r->method = method;
	r->path = xstrdup(path[0] == '/' ? path + 1 : path);
	return r;
}

static void
enqueue(struct cw_req *r, long long due)
{
	struct cw_req **p = &r->cw->pending;

	r->due = due;
	while (*p)
		p = &(*p)->next;
	r->next = NULL;
	*p = r;
}

void
dq_cw_get(struct dq_cw *cw, const char *path, dq_cw_fn fn, void *arg)
{
	struct cw_req *r = new_req(cw, "GET", path);

	r->fn = fn;
	r->arg = arg;
	cw->total++;
	enqueue(r, 0);
}

void
dq_cw_send(struct dq_cw *cw, const char *method, const char *path,
    json_object *body, dq_cw_fn fn, void *arg)
{
	struct cw_req *r = new_req(cw, method, path);

	if (body)
		r->body = xstrdup(dq_json_string(body));
	r->fn = fn;
	r->arg = arg;
	cw->total++;
	enqueue(r, 0);
}

void
dq_http_post(struct dq_cw *cw, const char *url, const char *body,
    const char *const *headers, dq_cw_fn fn, void *arg)
{
	struct cw_req *r = xcalloc(1, sizeof *r);

	r->cw = cw;
	r->method = "POST";
	r->path = xstrdup(url);
	r->absolute = r->resend = true;
	r->body = xstrdup(body);
	for (struct curl_slist *h = cw->write_headers; h; h = h->next)
		r->headers = curl_slist_append(r->headers, h->data);
	for (; headers && *headers; headers++)
		r->headers = curl_slist_append(r->headers, *headers);
	if (!r->headers)
		dq_out_of_memory();
	r->fn = fn;
	r->arg = arg;
	cw->total++;
	enqueue(r, 0);
}

static void
add_param(struct dq_buf *q, struct dq_buf *shown, const char *key,
    const char *val)
{
	char *esc = curl_easy_escape(NULL, val, 0);

	if (!esc)
		dq_out_of_memory();
	dq_buf_printf(q, "%s%s=%s", q->len ? "&" : "", key, esc);
	dq_buf_printf(shown, "%s%s=%s", shown->len ? "&" : "", key, val);
	curl_free(esc);
}

static void
queue_page(struct dq_cw *cw, struct cw_list *l, int page)
{
	struct cw_req *r = new_req(cw, "GET", l->path);
	struct dq_buf q = { 0 }, shown = { 0 };
	char num[32];

	if (l->conditions)
		add_param(&q, &shown, "conditions", l->conditions);
	if (l->fields)
		add_param(&q, &shown, "fields", l->fields);
	/* A fixed order keeps pages fetched side by side disjoint. */
	add_param(&q, &shown, "orderBy", "id asc");
	snprintf(num, sizeof num, "%d", CW_PAGE_SIZE);
	add_param(&q, &shown, "pageSize", num);
	snprintf(num, sizeof num, "%d", page);
	add_param(&q, &shown, "page", num);
	r->query = dq_buf_take(&q);
	r->shown = dq_buf_take(&shown);
	r->list = l;
	r->page = page;
	if (page > l->known) {
		l->pages = xrealloc(l->pages, (size_t)page * sizeof *l->pages);
		for (int i = l->known; i < page; i++)
			l->pages[i] = NULL;
		l->known = page;
	}
	cw->total++;
	enqueue(r, 0);
}

void
dq_cw_list(struct dq_cw *cw, const char *path, const char *conditions,
    const char *fields, dq_cw_fn fn, void *arg)
{
	struct cw_list *l = xcalloc(1, sizeof *l);

	l->path = xstrdup(path);
	l->conditions = conditions && *conditions ? xstrdup(conditions) : NULL;
	l->fields = fields ? xstrdup(fields) : NULL;
	l->fn = fn;
	l->arg = arg;
	queue_page(cw, l, 1);
}

char *
dq_cw_quote(const char *s)
{
	struct dq_buf b = { 0 };

	dq_buf_add(&b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			dq_buf_add(&b, "\\", 1);
		if (*s == '[')
			dq_buf_add(&b, "[[]", 3);	/* DG: a literal [ */
		else
			dq_buf_add(&b, s, 1);
	}
	dq_buf_add(&b, "\"", 1);
	return dq_buf_take(&b);
}

/* Starting requests */

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct cw_req *r = arg;

	dq_buf_add(&r->reply, data, size * n);
	return size * n;
}

/* The page number in the URL of Link's rel="last". */
static long
link_last(const char *value)
{
	const char *rel = strstr(value, "rel=\"last\"");
	const char *open, *p;

	if (!rel)
		return 0;
	for (open = rel; open > value && *open != '<'; open--)
		;
	for (p = open; p < rel; p++)
		if ((*p == '?' || *p == '&') && !strncmp(p + 1, "page=", 5))
			return strtol(p + 6, NULL, 10);
	return 0;
}

static long
retry_after(const char *value)
{
	char *end;
	long n = strtol(value, &end, 10);
	time_t when;

	if (end != value && (*end == '\0' || *end == '\r' || *end == '\n'))
		return n < 0 ? 0 : n;
	when = curl_getdate(value, NULL);
	return when > 0 ? (long)(when - time(NULL)) : -1;
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct cw_req *r = arg;
	size_t len = size * n;
	char line[2048];

	if (len >= sizeof line)
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	if (!strncasecmp(line, "link:", 5))
		r->last_page = link_last(line + 5);
	else if (!strncasecmp(line, "retry-after:", 12))
		r->retry_after = retry_after(line + 12 + strspn(line + 12, " \t"));
	return len;
}

static void
start(struct cw_req *r)
{
	struct dq_cw *cw = r->cw;
	char *url = r->absolute ? xstrdup(r->path) : dq_asprintf("%s/%s%s%s",
	    cw->base, r->path, r->query ? "?" : "", r->query ? r->query : "");
	CURL *e = curl_easy_init();

	if (!e)
		dq_die(DQ_EXIT_SOFTWARE, "cannot start a request");
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	if (cw->user) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, cw->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, cw->password);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers ? r->headers :
	    r->body ? cw->write_headers : cw->headers);
	if (r->body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	/* libcurl sends a request again, unasked, when a kept-alive
	 * connection turns out closed before any answer came; a POST that
	 * was acted on would then be made twice. On a connection of its own,
	 * used once, a lost answer comes back as an error, and the caller
	 * looks for what the POST made before it sends it again. */
	if (!strcmp(r->method, "POST") && !r->resend) {
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	}
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, dq_policy.connect_timeout);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, dq_policy.max_time);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (dq_policy.ca_file && *dq_policy.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, dq_policy.ca_file);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, r);
	r->errbuf[0] = '\0';
	r->retry_after = -1;
	r->last_page = 0;
	free(r->reply.s);
	r->reply = (struct dq_buf){ 0 };
	r->easy = e;
	r->started = now_ms();
	curl_multi_add_handle(cw->multi, e);
	cw->running++;
	free(url);
}

/* Starts what is due, oldest first, while there is room. */
static void
start_due(struct dq_cw *cw)
{
	long long now = now_ms();
	struct cw_req **p = &cw->pending;

	while (*p && cw->running < cw->parallel) {
		struct cw_req *r = *p;

		if (r->due > now) {
			p = &r->next;
			continue;
		}
		*p = r->next;
		start(r);
	}
}

/* How long to sleep: until the next request falls due, at most 1 s. */
static int
wait_ms(struct dq_cw *cw)
{
	long long now = now_ms(), wait = 1000;

	if (cw->running >= cw->parallel)
		return (int)wait;
	for (struct cw_req *r = cw->pending; r; r = r->next)
		if (r->due - now < wait)
			wait = r->due - now;
	return wait < 0 ? 0 : (int)wait;
}

/* Finishing requests */

enum verdict { OK, RETRY, FAIL };

static bool
curl_permanent(CURLcode rc, int *exit)
{
	/* A name that does not resolve is not among these: resolvers fail
	 * for a while, and NXDOMAIN looks the same to libcurl. */
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		*exit = DQ_EXIT_UNAVAILABLE;
		return true;
	case CURLE_OUT_OF_MEMORY:
		*exit = DQ_EXIT_SOFTWARE;
		return true;
	default:
		return false;
	}
}

/* A POST that may have reached the server is not sent twice: it would
 * create the record twice. It is retried only when refused unread. */
static enum verdict
judge(struct cw_req *r, CURLcode rc, long status, int *exit)
{
	bool post = !strcmp(r->method, "POST") && !r->resend;
	bool again = r->attempt < dq_policy.retries;

	*exit = DQ_EXIT_OK;
	if (rc != CURLE_OK) {
		if (curl_permanent(rc, exit))
			return FAIL;
		*exit = DQ_EXIT_TEMPFAIL;
		/* Nothing was sent when no connection was made. */
		return again && (!post || rc == CURLE_COULDNT_CONNECT ||
		    rc == CURLE_COULDNT_RESOLVE_HOST ||
		    rc == CURLE_COULDNT_RESOLVE_PROXY) ? RETRY : FAIL;
	}
	if (status >= 200 && status < 300)
		return OK;
	if (status == 429 || status == 408 || status >= 500) {
		*exit = DQ_EXIT_TEMPFAIL;
		return again && (!post || status == 429) ? RETRY : FAIL;
	}
	/* The PSA judged a write invalid: bad data, not an outage. */
	*exit = r->body && (status == 400 || status == 409 || status == 422) ?
	    DQ_EXIT_DATA : DQ_EXIT_UNAVAILABLE;
	return FAIL;
}

static long long
backoff(struct cw_req *r)
{
	long long d;

	if (r->retry_after >= 0)
		return 1000LL * (r->retry_after > CW_RETRY_AFTER_CAP_S ?
		    CW_RETRY_AFTER_CAP_S : r->retry_after);
	d = (long long)r->cw->backoff_ms << (r->attempt < 16 ? r->attempt : 16);
	if (d > CW_BACKOFF_CAP_MS)
		d = CW_BACKOFF_CAP_MS;
	/* Half fixed, half random: clients that failed together spread out. */
	return d / 2 + (d > 1 ? random() % (d / 2 + 1) : 0);
}

/* "400 InvalidObject: company object is invalid (yearEstablished: The
 * field ...)"; a 429 body says "error" where others say "code". */
static void
describe_body(struct dq_buf *msg, long status, json_object *body)
{
	const char *code = dq_get_str(body, "code");
	const char *text = dq_get_str(body, "message");
	json_object *errors = dq_get(body, "errors");

	if (!code)
		code = dq_get_str(body, "error");
	dq_buf_printf(msg, "%ld", status);
	if (code)
		dq_buf_printf(msg, " %s", code);
	if (text)
		dq_buf_printf(msg, ": %s", text);
	if (!code && !text)
		dq_buf_printf(msg, " %s", status == 404 ? "Not Found" :
		    status == 401 ? "Unauthorized" : "error");
	for (size_t i = 0; json_object_is_type(errors, json_type_array) &&
	    i < json_object_array_length(errors); i++) {
		json_object *e = json_object_array_get_idx(errors, i);
		const char *field = dq_get_str(e, "field");

		dq_buf_printf(msg, "%s%s%s%s", i ? "; " : " (",
		    field ? field : "", field ? ": " : "",
		    dq_get_str(e, "message") ? dq_get_str(e, "message") : "?");
		if (i + 1 == json_object_array_length(errors))
			dq_buf_add(msg, ")", 1);
	}
}

static json_object *
parse_reply(struct cw_req *r)
{
	json_tokener *tok;
	json_object *o;

	if (!r->reply.len)
		return NULL;
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, r->reply.s, (int)r->reply.len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != r->reply.len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static void
log_request(struct cw_req *r, CURLcode rc, long status)
{
	long long ms = now_ms() - r->started;
	const char *q = r->shown ? r->shown : "";

	const char *slash = r->absolute ? "" : "/";

	if (rc != CURLE_OK)
		dq_warnx("%s %s%s%s%s: %s (%lld ms)", r->method, slash, r->path,
		    *q ? "?" : "", q, curl_easy_strerror(rc), ms);
	else
		dq_warnx("%s %s%s%s%s: %ld (%lld ms)", r->method, slash, r->path,
		    *q ? "?" : "", q, status, ms);
}

static void list_page_done(struct cw_req *r, const struct dq_cw_reply *reply);

static void
free_req(struct cw_req *r)
{
	free(r->path);
	free(r->query);
	free(r->shown);
	free(r->body);
	free(r->reply.s);
	curl_slist_free_all(r->headers);
	free(r);
}

static void
deliver(struct cw_req *r, CURLcode rc, long status, int exit)
{
	struct dq_cw_reply reply = { .status = status, .exit = exit };
	struct dq_buf msg = { 0 };

	const char *slash = r->absolute ? "" : "/";

	reply.body = parse_reply(r);
	if (exit == DQ_EXIT_OK && r->reply.len && !reply.body && !r->absolute) {
		reply.exit = DQ_EXIT_UNAVAILABLE;
		dq_buf_printf(&msg, "%s /%s: %ld reply is not JSON", r->method,
		    r->path, status);
	} else if (exit != DQ_EXIT_OK) {
		dq_buf_printf(&msg, "%s %s%s: ", r->method, slash, r->path);
		if (rc != CURLE_OK)
			dq_buf_printf(&msg, "%s", r->errbuf[0] ? r->errbuf :
			    curl_easy_strerror(rc));
		else
			describe_body(&msg, status, reply.body);
		if (exit == DQ_EXIT_TEMPFAIL)
			dq_buf_printf(&msg, " (gave up after %d attempt%s)",
			    r->attempt + 1, r->attempt ? "s" : "");
	}
	reply.error = msg.s;
	if (r->list)
		list_page_done(r, &reply);
	else
		r->fn(&reply, r->arg);
	json_object_put(reply.body);
	free(msg.s);
	free_req(r);
}

static void
finish(struct dq_cw *cw, CURL *e, CURLcode rc)
{
	struct cw_req *r;
	long status = 0;
	int exit;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(cw->multi, e);
	curl_easy_cleanup(e);
	r->easy = NULL;
	cw->running--;
	if (dq_policy.verbose)
		log_request(r, rc, status);
	if (judge(r, rc, status, &exit) == RETRY) {
		long long delay = backoff(r);

		r->attempt++;
		enqueue(r, now_ms() + delay);
		return;
	}
	cw->done++;
	deliver(r, rc, status, exit);
}

/* Lists */

static void
list_deliver(struct cw_list *l)
{
	struct dq_cw_reply reply = { .status = 200, .exit = DQ_EXIT_OK };
	json_object *all = json_object_new_array();

	for (int i = 0; i < l->known; i++) {
		json_object *page = l->pages[i];

		for (size_t j = 0; j < json_object_array_length(page); j++)
			json_object_array_add(all, json_object_get(
			    json_object_array_get_idx(page, j)));
		json_object_put(page);
	}
	reply.body = all;
	l->fn(&reply, l->arg);
	json_object_put(all);
}

static void
free_list(struct cw_list *l)
{
	free(l->path);
	free(l->conditions);
	free(l->fields);
	free(l->pages);
	free(l);
}

static void
list_page_done(struct cw_req *r, const struct dq_cw_reply *reply)
{
	struct cw_list *l = r->list;
	size_t rows;

	l->done++;
	if (!l->failed && reply->exit == DQ_EXIT_OK &&
	    !json_object_is_type(reply->body, json_type_array)) {
		struct dq_cw_reply bad = *reply;
		char *msg = dq_asprintf("GET /%s: reply is not a list", l->path);

		bad.exit = DQ_EXIT_DATA;	/* a reply of the wrong shape */
		bad.error = msg;
		l->failed = true;
		l->fn(&bad, l->arg);
		free(msg);
	} else if (!l->failed && reply->exit != DQ_EXIT_OK) {
		l->failed = true;
		l->fn(reply, l->arg);
	}
	if (l->failed) {
		if (l->done == l->known) {
			for (int i = 0; i < l->known; i++)
				json_object_put(l->pages[i]);
			free_list(l);
		}
		return;
	}
	l->pages[r->page - 1] = json_object_get(reply->body);
	rows = json_object_array_length(reply->body);
	if (r->page == 1 && r->last_page > 1) {
		for (int p = 2; p <= r->last_page && p <= 100000; p++)
			queue_page(r->cw, l, p);
	} else if (!r->last_page && rows >= CW_PAGE_SIZE &&
	    r->page == l->known) {
		/* No Link header: walk on until a short page. */
		queue_page(r->cw, l, r->page + 1);
	}
	if (l->done == l->known) {
		list_deliver(l);
		free_list(l);
	}
}

/* Running */

static void
show_progress(struct dq_cw *cw, bool end)
{
	if (!cw->progress)
		return;
	if (end) {
		fprintf(stderr, "\r%*s\r", 40, "");
		return;
	}
	if (cw->done == cw->shown_done && cw->total == cw->shown_total)
		return;
	fprintf(stderr, "\r%s: %d/%d requests", dq_progname, cw->done,
	    cw->total);
	cw->shown_done = cw->done;
	cw->shown_total = cw->total;
}

void
dq_cw_run(struct dq_cw *cw)
{
	while (cw->pending || cw->running) {
		CURLMsg *m;
		int left, still;

		start_due(cw);
		curl_multi_perform(cw->multi, &still);
		while ((m = curl_multi_info_read(cw->multi, &left)))
			if (m->msg == CURLMSG_DONE)
				finish(cw, m->easy_handle, m->data.result);
		show_progress(cw, false);
		if (cw->pending || cw->running)
			curl_multi_poll(cw->multi, NULL, 0, wait_ms(cw), NULL);
	}
	show_progress(cw, true);
}
