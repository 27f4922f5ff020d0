/* webhook.c: the AGENT_ASSIGNED event dq-apply sends an agent, signed so
 * that the agent can tell it came from this desk (DESIGN §5). */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "dq.h"

json_object *
dq_agent_assigned(json_object *ticket, time_t at)
{
	json_object *e = json_object_new_object();
	json_object *d = dq_get(ticket, "dispatch");
	const char *summary = dq_get_str(ticket, "summary");
	char buf[DQ_TIMEBUF];

	json_object_object_add(e, "kind", json_object_new_string("event"));
	json_object_object_add(e, "type", json_object_new_string("AGENT_ASSIGNED"));
	json_object_object_add(e, "ticket",
	    json_object_new_string(dq_get_str(ticket, "id")));
	json_object_object_add(e, "member",
	    json_object_new_string(dq_get_str(d, "chosen")));
	json_object_object_add(e, "at",
	    json_object_new_string(dq_time_format(at, buf)));
	if (summary)
		json_object_object_add(e, "summary",
		    json_object_new_string(summary));
	json_object_object_add(e, "dispatch", json_object_get(d));
	return e;
}

char *
dq_webhook_delivery(const char *run, const char *ticket, const char *member)
{
	struct dq_sha256 c;
	unsigned char md[32];
	char hex[65];

	dq_sha256_init(&c);
	dq_sha256_update(&c, run, strlen(run) + 1);
	dq_sha256_update(&c, ticket, strlen(ticket) + 1);
	dq_sha256_update(&c, member, strlen(member) + 1);
	dq_sha256_final(&c, md);
	dq_hex(md, 16, hex);
	return xstrdup(hex);
}

/* The secret, read once: a file of it beats the environment, as a
 * credentials file does. */
static const char *
secret(size_t *len)
{
	static char *key;
	static size_t keylen;
	const char *env = getenv("DQ_WEBHOOK_SECRET");
	FILE *fp;
	size_t cap = 0;
	ssize_t n;

	if (key) {
		*len = keylen;
		return key;
	}
	if (dq_policy.webhook_secret_file && *dq_policy.webhook_secret_file) {
		fp = dq_open_private(dq_policy.webhook_secret_file,
		    "webhook secret file");
		n = getdelim(&key, &cap, '\0', fp);
		fclose(fp);
		keylen = n > 0 ? (size_t)n : 0;
	} else if (env) {
		key = xstrdup(env);
		keylen = strlen(key);
	}
	while (keylen > 0 && (key[keylen - 1] == '\n' || key[keylen - 1] == '\r'))
		keylen--;
	if (keylen == 0)
		dq_die(DQ_EXIT_CONFIG, "no webhook secret: set DQ_WEBHOOK_SECRET "
		    "or --webhook-secret-file");
	*len = keylen;
	return key;
}

char *
dq_webhook_signature(const char *body)
{
	unsigned char mac[32];
	size_t keylen;
	const char *key = secret(&keylen);
	char hex[65];

	dq_hmac_sha256(key, keylen, body, strlen(body), mac);
	dq_hex(mac, sizeof mac, hex);
	return dq_asprintf("sha256=%s", hex);
}

void
dq_webhook_post(struct dq_cw *http, const char *url, const char *body,
    const char *delivery, dq_cw_fn fn, void *arg)
{
	char *sig = dq_webhook_signature(body);
	char *h_sig = dq_asprintf("X-Dq-Signature: %s", sig);
	char *h_del = dq_asprintf("X-Dq-Delivery: %s", delivery);
	const char *headers[] = { h_sig, h_del, "X-Dq-Event: AGENT_ASSIGNED",
	    NULL };

	dq_http_post(http, url, body, headers, fn, arg);
	free(h_del);
	free(h_sig);
	free(sig);
}
