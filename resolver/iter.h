/* The resolver's request and iterator state (private to resolver/): one vg_req per distinct client
 * question in flight, one or more iterator queries (struct vg_iq) per request, all allocated in
 * the request's arena and released with it. Loop-thread only. */
#ifndef VIGIL_RESOLVER_ITER_H
#define VIGIL_RESOLVER_ITER_H

#include <vigil/cache.h>
#include <vigil/resolver.h>
#include <vigil/upstream.h>
#include "dnssec.h"
#include "internal.h"

#define VG_MAX_HINTS 64
#define VG_MAX_NS 16	     /* NS names used per zone cut (the rest are ignored: NXNS bound) */
#define VG_MAX_NS_ADDRS 4    /* addresses used per NS name */
#define VG_MAX_SUB_DEPTH 3   /* nesting of glueless sub-resolutions */
#define VG_QMIN_MAX_STEPS 10 /* RFC 9156 MAX_MINIMISE_COUNT */
#define VG_MAX_ROUNDS 3	     /* passes over a zone's servers before giving up */
#define VG_ARENA_LIMIT (4u << 20)
/* The arenas of one resolver together: max-requests times this (a request that walks a few
 * referrals uses 40-80 KiB; one alone may still use up to VG_ARENA_LIMIT). */
#define VG_ARENA_PER_REQUEST (128u << 10)
#define VG_OUTQ_BUCKETS 1024
#define VG_REQ_BUCKETS 1024
#define VG_PRIME_RETRY_MIN_MS 1000  /* first wait after a failed priming */
#define VG_PRIME_RETRY_MAX_MS 60000 /* the wait doubles up to this */
#define VG_LOCAL_ERR_LOG_MS 10000   /* at most one local-error log line per worker per 10 s */

/* The iterator's states (STYLE habit 4): one function each in iter.c, see vg_iq_state_name. */
enum vg_iq_state {
	IQ_START,      /* answer or CNAME for (sname, qtype) in the cache? */
	IQ_FIND_CUT,   /* closest zone cut: forward zone, cached NS, or root hints */
	IQ_PICK,       /* choose a server address, or resolve a glueless NS name */
	IQ_WAIT_SUB,   /* waiting for a glueless sub-resolution */
	IQ_SEND,       /* build the (minimised) query and hand it to the upstream layer */
	IQ_WAIT_REPLY, /* waiting for the upstream layer */
	IQ_REPLY,      /* timeout/error bookkeeping, TC -> TCP, parse, scrub */
	IQ_HOLD,       /* injection-strict: the reply waits out the injection window */
	IQ_VALIDATE,   /* DNSSEC (validate.c, may wait for DS/DNSKEY) and hijack checks */
	IQ_STORE,      /* accepted RRsets and negative answers to the cache */
	IQ_FOLLOW,     /* act on the verdict: answer, CNAME, referral, negative, lame, retry */
	IQ_DONE,       /* finished with an answer (positive or negative) */
	IQ_FAIL,       /* finished with SERVFAIL (+ EDE) */
	IQ_N_STATES
};

struct vg_ns {
	uint8_t name[VG_NAME_MAX];
	struct vg_sockaddr addrs[VG_MAX_NS_ADDRS];
	bool tried[VG_MAX_NS_ADDRS];
	size_t n_addrs;
	bool resolved; /* a sub-resolution for its address ran (or was not possible) */
};

struct vg_req;
struct vg_outq;
struct vg_iq;
struct vg_zk;
struct vg_anchors;
struct vg_bogus;
struct vg_fwd_cut;
struct vg_keytab;
struct vg_nxr;

/* What a sub-request hands its parent when it ends. Records and sets live in the request's arena
 * (valid for the request's life); the `sets` array only during the continuation call. */
struct vg_sub_result {
	const uint8_t *qname; /* what the sub-request asked (lowercase) */
	uint16_t qtype;
	bool answered; /* it ended with an answer (positive or negative); false: SERVFAIL */
	uint16_t rcode;
	/* The answer's RRsets in order (CNAME/DNAME links, then the final set), each with its
	 * covering RRSIGs, rank and security status. */
	struct vg_rrset *const *sets;
	size_t n_sets;
	const struct vg_rr *soa; /* a negative answer's SOA (its rrset has the status), or NULL */
	uint16_t ede;		 /* why it failed (answered false) */
	const char *ede_text;
};

/* A sub-request's continuation (as Unbound's inform_super, Knot's yield): called once when the
 * sub-request ends, on the loop thread. It interprets res for the parent and says how the
 * parent goes on: it sets parent->state to the state to resume in (the iterator then runs the
 * parent), or starts another sub-request (vg_iq_sub_start) and the parent keeps waiting. When
 * the parent no longer waits (parent->state != IQ_WAIT_SUB) it may only record. */
typedef void (*vg_sub_cb)(struct vg_iq *parent, const struct vg_sub_result *res, void *ctx);

#define VG_UNWANTED_SOURCES 4 /* distinct (source, transport) pairs kept per iq */

/* The unwanted messages that reached the upstream queries an iq waited on (wrong ID, question,
 * 0x20 case or source; malformed; late), as the transport reported them: recorded for the
 * hijack checks, changing nothing yet. Bounded: counts saturate at UINT16_MAX, only the first
 * VG_UNWANTED_SOURCES distinct sources are kept (src_overflow says more were seen). */
struct vg_unwanted_log {
	uint16_t count[VG_UNWANTED_N_KINDS]; /* per enum vg_upstream_unwanted_kind */
	uint8_t n_src;
	bool src_overflow;
	bool moved_tcp; /* spoof-attempt moved a query of this iq to TCP */
	struct vg_unwanted_src {
		struct vg_sockaddr from;
		bool tcp;
		uint8_t kinds; /* a bit per enum vg_upstream_unwanted_kind seen from it */
	} src[VG_UNWANTED_SOURCES];
};

/* One iterator query listening on one upstream query (outq). An iq usually has one; after an
 * ICMP error it keeps listening on that query until its timeout while it asks the next server,
 * so it may have several (see "Unreachable servers" in docs/architecture.md). Each link keeps
 * what was asked of whom, restored into the iq when its reply is the one used. In the
 * request's arena. */
struct vg_oq_wait {
	struct vg_iq *iq;
	struct vg_outq *oq;	    /* NULL once detached */
	struct vg_oq_wait *next;    /* next waiter of oq */
	struct vg_oq_wait *iq_next; /* next query the iq listens on */
	bool notified;		    /* the oq's ICMP notice reached this waiter */
	struct vg_sockaddr server;
	struct vg_ns *server_ns;
	int server_idx;
	bool tcp, no_edns;
	uint16_t asked_type;
	uint8_t asked[VG_NAME_MAX];
};

struct vg_iq {
	struct vg_req *req;
	struct vg_iq *parent; /* a sub-request: who waits for it */
	vg_sub_cb sub_cb;     /* and what receives its result */
	void *sub_ctx;
	unsigned subs_started; /* sub-requests this iq started (vg_iq_sub_start) */
	/* A sub-request started with vg_iq_sub_spawn: it runs beside its parent, which does not
	 * wait for it; its continuation wakes whoever waits for its result (validate_chain.c). */
	bool detached;
	bool cut_given; /* IQ_FIND_CUT keeps the zone cut its starter handed it, once */
	/* IQ_WAIT_SUB on a detached fetch (validate_chain.c), not on a sub-request */
	const void *await;
	struct vg_iq *next_all; /* all iqs of the request */
	int depth;
	enum vg_iq_state state;
	bool is_prime;	    /* root priming query */
	bool primed;	    /* priming: the root's NS addresses replaced the hints */
	bool refresh;	    /* prefetch: skip the cached answer, ask the authorities */
	bool refreshing;    /* started as a prefetch: no answer from cached denials either */
	bool want_prefetch; /* answered from a cache entry near its expiry */
	/* nxdomain-rewrite probe (fwdcheck.c): 1 + index of the forwarder it asks, 0 = none;
	 * probe_judged: its reply said whether the forwarder rewrites */
	unsigned probe;
	bool probe_judged;
	/* servers-disagree (disagree.c): a cross-check query asks one chosen server of a known
	 * cut (no cache, no minimisation) and ends right after the scrubber, storing nothing;
	 * xc_tcp: over TCP; xc_done: this iq's answer was cross-checked (or replaced by the
	 * TCP-confirmed one) and is not checked again. */
	bool xcheck, xc_tcp, xc_done;

	uint8_t sname[VG_NAME_MAX]; /* current name (after CNAME/DNAME) */
	uint16_t qtype, qclass;

	/* The answer built so far: CNAME/DNAME links and the final RRset (RRSIGs included). */
	const struct vg_rr **ans;
	size_t n_ans, cap_ans;
	const struct vg_rr **ans_set; /* open addressing over ans: duplicates found in O(1) */
	size_t ans_set_cap;	      /* a power of two, at least twice n_ans */
	const struct vg_rr *soa;      /* negative answers */
	/* A negative answer's proof for DO clients (RFC 4035 3.1.3): the SOA's RRSIGs, the
	 * NSEC/NSEC3 records and their RRSIGs, as the reply or the cache entry had them. Only
	 * meaningful while soa is set. */
	const struct vg_rr **proof;
	size_t n_proof;
	uint16_t rcode;
	unsigned cname_hops, referrals, glueless;
	/* What the current cut's servers did, for the EDE when none is left (reset per cut). */
	unsigned n_silent; /* timeouts, ICMP errors, resets */
	unsigned n_lame;   /* REFUSED, lame, upward referrals */
	unsigned n_broken; /* SERVFAIL, FORMERR without EDNS, malformed or unusable replies */
	unsigned n_policy; /* addresses skipped: loopback/private (query-local-addresses: no) */
	unsigned n_family; /* addresses skipped: family switched off (do-ip4/do-ip6) */
	unsigned rounds;   /* passes over the cut's addresses (retries after timeouts) */
	const char *over_limit; /* a reply was over a per-reply limit (scrubber's text) */
	bool stale;
	bool forwarded_data; /* some of the answer came from a forwarder */
	/* A cached RRset stored unchecked is being validated on its way out (validate_cached.c
	 * vg_validate_cached): the chain fetch it waits for resumes the iq in IQ_START, with the
	 * answer cut back to its first `check_first` records. */
	bool cache_check;
	size_t check_first;

	/* The current zone cut. cut_until: wall-clock second its delegation ends (UINT32_MAX for
	 * hints and forwarders); a delegation its servers hand out is cached no longer, so a zone
	 * removed at its parent takes the subzones it delegated along (ghost domains). */
	uint8_t zone[VG_NAME_MAX];
	uint32_t cut_until;
	bool forward; /* servers are forwarders (RD=1, no delegations accepted) */
	struct vg_ns *ns;
	size_t n_ns;

	/* QNAME minimisation (RFC 9156). */
	bool qmin;
	int qmin_labels; /* labels of sname asked in the current minimised query */
	unsigned qmin_steps;

	/* The query in flight. */
	uint8_t asked[VG_NAME_MAX];
	uint16_t asked_type;
	struct vg_sockaddr server;
	struct vg_ns *server_ns;
	int server_idx;
	bool tcp, no_edns;
	/* A FORMERR to our EDNS query made this one plain: only if it succeeds is the server kept
	 * on plain DNS (no_edns_until); a forged FORMERR followed by a failure changes nothing. */
	bool edns_probe;
	struct vg_oq_wait *waits; /* upstream queries this iq listens on (usually one) */
	/* From a reply's parse to its store: a second, different answer to the same query
	 * (second-answer) sets second_seen, and the iq asks again over TCP instead of using it.
	 * hold: the injection-strict timer of IQ_HOLD. */
	bool reply_in_use, second_seen;
	/* The forwarder-rewrite check (vg_nxr_reply) ran on this reply: it runs once, before the
	 * validator, which may wait for its fetches and run again. */
	bool nxr_checked;
	/* The reply's data is insecure for a reason RFC 8914 names (EDE 1, 2, 27; validate.c):
	 * its insecure sets are cached with it. Reset per reply. */
	uint16_t insecure_ede;
	struct vg_upstream_timer *hold;
	struct vg_unwanted_log unwanted; /* over the iq's whole life, every query it waited on */

	/* The reply being handled. */
	enum vg_upstream_status st;
	const uint8_t *reply;
	size_t reply_len;
	uint32_t rtt_ms;
	struct vg_msg msg;

	uint16_t ede;
	const char *ede_text;

	/* Keep last: vg_iq_new zeroes everything before it but not this (~2.6 KB, most of it the
	 * DNAME synth array), since only IQ_STORE and IQ_FOLLOW read it, and they run only after
	 * vg_scrub has filled it for the current reply. */
	struct vg_verdict verdict;
};

struct vg_waiter {
	vg_resolve_cb cb;
	void *ctx;
	uint8_t qname[VG_NAME_MAX]; /* the client's spelling */
	bool rd;
	bool ad; /* the client set DO or AD: it is shown AD on secure answers */
	bool has_client;
	struct vg_sockaddr client; /* for the suspicious-answer log */
	struct vg_waiter *next;
};

struct vg_req {
	struct vg_resolver *r;
	struct vg_arena arena;
	uint8_t qname[VG_NAME_MAX]; /* lowercase */
	uint16_t qtype, qclass;
	bool do_bit, cd_bit;
	uint64_t key_hash;
	struct vg_waiter *waiters; /* none for prefetch and priming */
	struct vg_iq *root;
	struct vg_iq *iqs;
	unsigned upstream_queries;
	struct vg_upstream_timer *deadline;
	bool done;
	/* RD=0 (a client that wants no recursion): answered from the cache only, never linked for
	 * joining, never sends a query; a miss is REFUSED with EDE 20 (RFC 8914 §4.21). */
	bool cache_only;
	/* A hijack check removed records from the answer: it carries this EDE and is not put
	 * into the answer cache. 0 = none. */
	uint16_t suspect_ede;
	const char *suspect_text;
	/* Part of the answer is insecure for a reason RFC 8914 names (EDE 1, 2 or 27): the answer
	 * carries it and is not put into the answer cache, which keeps no EDE. 0 = none. */
	uint16_t insecure_ede;
	const char *insecure_text;
	/* Every query over TCP: a re-fetch after a second answer (the cache keeps what TCP
	 * confirms). */
	bool tcp_only;
	/* A second answer's TCP re-fetch was asked while this request for the same question was
	 * still in flight (validating, say): it would store the first answer after the flush, so
	 * the question is flushed and asked again over TCP when it ends. */
	bool refetch_tcp;
	/* servers-disagree, log mode: this request is a cross-check running on its own after
	 * the client was answered (disagree.c); it builds no answer. NULL otherwise. */
	struct vg_xc_bg *xc_bg;
	/* DNSSEC: what this request learned of the chain of trust (validate_chain.c) and the work
	 * done against the validator's limits. */
	struct vg_zk *zk;
	struct vg_dnssec_work dwork;
	struct vg_req *hnext;	    /* hash chain of requests in flight */
	struct vg_req *next, *prev; /* all live requests */
};

struct vg_resolver {
	struct vg_resolver_opts opts; /* copied at vg_resolver_new */
	struct vg_cache *cache;
	struct vg_cache_reader *rd;
	bool rd_open;	      /* a read snapshot is open for the entry being handled */
	unsigned entry_depth; /* vg_resolver_entry calls on the stack (an entry may nest one) */
	struct vg_upstream *up;
	int worker_id;
	const struct vg_hijack_opts *hijack;   /* &opts.hijack */
	const struct vg_suspect_sink *suspect; /* NULL: findings are not reported */
	struct vg_anchors *anchors;	       /* NULL: validation off (dnssec: no) */
	struct vg_validator *val;
	struct vg_bogus *bogus; /* VG_BOGUS_SLOTS answers found bogus lately (validate.c) */
	/* unsigned delegations proved via a forwarder lately (validate_fwd.c, VG_FWD_CUT_SLOTS) */
	struct vg_fwd_cut *fwd_cuts;
	struct vg_keytab *keytab; /* zone keys proved from the cache (keytab.h, validate_chain.c) */
	struct vg_select *sel;
	struct vg_hint hints[VG_MAX_HINTS];
	size_t n_hints;
	int64_t primed_until; /* wall clock; 0 = never primed */
	bool priming;
	/* After a failed priming: no new one before prime_retry_at (monotonic ms); the wait
	 * doubles per failure from VG_PRIME_RETRY_MIN_MS to VG_PRIME_RETRY_MAX_MS. */
	uint64_t prime_retry_at;
	uint32_t prime_backoff_ms;
	uint64_t local_err_log_at; /* monotonic ms: next local-error log line allowed */
	uint64_t local_err_quiet;  /* local errors not logged since the last line */
	struct vg_req *reqs;	   /* all live requests */
	struct vg_req *req_hash[VG_REQ_BUCKETS]; /* client questions in flight, for joining */
	struct vg_outq *outq_hash[VG_OUTQ_BUCKETS];
	uint64_t hash_key[2]; /* SipHash key of the request and outq tables, random per resolver */
	struct vg_arena_pool arena_pool; /* every request's arena is charged here */
	struct vg_req *zombies;		 /* finished, freed on the next loop pass */
	struct vg_upstream_timer *reaper;
	struct vg_resolver_stats stats;
	struct vg_nxr *nxr; /* nxdomain-rewrite probe state per forwarder (fwdcheck.c), or NULL */
	bool closing;	    /* vg_resolver_close runs: no new probe is scheduled */
	struct vg_xzones *xzones; /* servers-disagree: per-zone budget and suspicion (disagree.c) */
	/* cache lookup buffer (views point into it until the next lookup): any stored value fits */
	uint8_t cbuf[VG_CACHE_READ_MAX];
	uint8_t abuf[65536]; /* answer building */
};

/* iter.c */
const char *vg_iq_state_name(enum vg_iq_state s);
/* Runs the state machine of iq until it waits or finishes. */
void vg_iq_run(struct vg_iq *iq);
/* A new iterator query in req's arena for (name, qtype). */
struct vg_iq *vg_iq_new(struct vg_req *req, const uint8_t *name, uint16_t qtype, uint16_t qclass);
/* Detaches iq from the upstream layer (outq) and stops everything it waits on. */
void vg_iq_cancel(struct vg_iq *iq);
/* subreq.c: sub-requests. Starts a sub-request for (name, qtype, IN) on behalf of parent, whose
 * result cb(parent, res, ctx) receives (see vg_sub_cb). The parent moves to IQ_WAIT_SUB; the
 * sub-request runs at once and may end (and call cb) before this returns. The caller returns
 * STEP_WAIT from its state function (or, from a continuation, does nothing more); a parent not
 * inside a state function must not be listening for a reply (vg_iq_cancel). Bounds: nesting up to
 * VG_MAX_SUB_DEPTH, no question already asked by an ancestor (a loop); each sub-request has its
 * own max-referral-depth and max-cname-chain and shares the request's max-upstream-queries.
 * Returns 0, VG_ELIMIT (depth or loop: nothing started, parent unchanged) or -ENOMEM. */
int vg_iq_sub_start(struct vg_iq *parent, const uint8_t *name, uint16_t qtype, vg_sub_cb cb,
		    void *ctx);

/* subreq.c: starts a detached sub-request for (name, qtype, IN) that asks the servers of the cut
 * (zone, ns[0..n_ns)) first (the array is copied, its tried marks cleared) and runs beside
 * `parent`: the parent's state is left alone and the parent may go on, wait for something else, or
 * end before it. cb(parent, res, ctx) is called once when it ends and must not assume the parent
 * waits (it wakes any iq waiting for the result itself). Same bounds as vg_iq_sub_start (nesting
 * depth, loop, the request's max-upstream-queries); 0, VG_ELIMIT or -ENOMEM. */
int vg_iq_sub_spawn(struct vg_iq *parent, const uint8_t *name, uint16_t qtype, vg_sub_cb cb,
		    void *ctx, const uint8_t *zone, const struct vg_ns *ns, size_t n_ns);
/* iter.c: turns a fresh iq (vg_iq_new) into a cross-check query (servers-disagree): it asks
 * `server`, a server of `zone`, the iq's own question, over TCP when `tcp`, and ends (IQ_DONE)
 * with the scrubbed reply in iq->msg/verdict/reply, or IQ_FAIL. Nothing is cached. */
void vg_iq_make_xcheck(struct vg_iq *iq, const uint8_t *zone, const struct vg_sockaddr *server,
		       bool tcp);
/* subreq.c: starts a cross-check query for parent's question as a sub-request (see
 * vg_iq_sub_start for the continuation); *out is the sub iq (its reply is read by cb). Returns
 * 0 or -ENOMEM. */
int vg_iq_xcheck_sub(struct vg_iq *parent, const struct vg_sockaddr *server, bool tcp, vg_sub_cb cb,
		     void *ctx, struct vg_iq **out);
/* subreq.c: sub, a sub-request, finished (IQ_DONE or IQ_FAIL; called by vg_iq_run): hands its
 * result to its continuation and resumes the parent if it waited for sub and the continuation
 * started no other sub-request. */
void vg_iq_sub_finished(struct vg_iq *sub);

/* disagree.c: servers-disagree, in IQ_VALIDATE after the other checks, for a full authoritative
 * answer of the request's own iq: decides whether to cross-check it and starts the check.
 * Returns true when iq now waits for it (block mode: the continuation sets the state to resume
 * in), false when iq goes on (no check, or log mode: the check runs as its own request). */
bool vg_disagree_check(struct vg_iq *iq);
/* disagree.c: a log-mode cross-check request ended (vg_req_complete): compares and reports. */
void vg_disagree_bg_done(struct vg_req *req);
void vg_disagree_free(struct vg_resolver *r);

/* hijack.c: whether name is at or below one of domains[0..n) (wire, lowercase). */
bool vg_hijack_name_under(const uint8_t *name, const uint8_t (*domains)[256], size_t n);
/* hijack.c: presentation text of one record (rr_print), into the arena; NULL without memory. */
const char *vg_hijack_rr_text(struct vg_arena *a, const struct vg_rr *rr);

/* hijack.c: the rebinding check on the reply's RRsets (IQ_VALIDATE): an RRset with private
 * addresses for a public name gets VG_SUSPECT_REBINDING, is reported and, with `rebinding:
 * block`, loses those records (vg_rrset_remove). */
void vg_hijack_rebinding(struct vg_iq *iq);
/* hijack.c: records the scrubber removed that lie outside the asked server's zone, as an
 * out-of-bailiwick event (IQ_VALIDATE). */
void vg_hijack_bailiwick(struct vg_iq *iq);
/* hijack.c: a UDP reply accepted by an iq that heard wrong IDs, questions or cases: every
 * RRset of it gets the spoof-attempt reason bit (IQ_VALIDATE). A TCP reply is not marked. */
void vg_hijack_spoof_mark(struct vg_iq *iq);
/* hijack.c: one spoof-attempt event for the request, from its iqs' unwanted-message logs
 * (wrong ID, question, case or source), when there were any. Called as the request ends. */
void vg_hijack_spoof_report(struct vg_req *req);
/* hijack.c: the transport's late callback (vg_upstream_req.late, ctx = the resolver): counts
 * the late message; a second reply that matches and differs from the accepted one is a
 * second-answer event, and in block mode quarantines the RRsets of both answers and asks the
 * question again over TCP. */
void vg_hijack_late(void *ctx, const struct vg_upstream_late *l);
/* hijack.c, injection-strict: when iq's UDP reply answers the client's question (not a referral,
 * not a minimised step), holds it for the injection window (iq->state = IQ_HOLD, true: the
 * caller waits). The reply is then validated as usual; a second, different reply in the window
 * sends the question again over TCP instead. False: no hold, carry on. */
bool vg_hijack_hold(struct vg_iq *iq, bool full);
/* Ends iq's hold without resuming it (the request ended). */
void vg_hijack_hold_cancel(struct vg_iq *iq);

/* hijack.c: a record in presentation format (lowercased names, single spaces) in the arena, NULL
 * without memory; the first waiting client of req (NULL: none); hand an event to the sink. */
const struct vg_sockaddr *vg_hijack_client(const struct vg_req *req);
void vg_hijack_emit(struct vg_resolver *r, const struct vg_suspect_event *ev);
/* fwdcheck.c: the pin check (IQ_VALIDATE): records of a pinned name and type outside every pin
 * of that name and type are reported (reason pin); with pin-action: block address records are
 * removed (EDE 4) and NS or DS outside the pin fail the iq (SERVFAIL, EDE 4). */
void vg_hijack_pin(struct vg_iq *iq);
/* fwdcheck.c: nxdomain-rewrite. vg_nxr_init sets up the per-forwarder probe state and arms the
 * first probe (0 or -ENOMEM); vg_nxr_free stops it. vg_nxr_reply handles a reply in IQ_VALIDATE:
 * a probe's reply is judged (the probe ends without storing anything), a forwarder's answer
 * that is exactly a learned rewrite set is reported and, in block mode, turned into NXDOMAIN.
 * vg_nxr_probe_done: a probe request ended (request.c). vg_nxr_usable: whether forwarder `a`
 * of `zone` may be asked (false while it is known to lie and forward-fallback: iterate). */
int vg_nxr_init(struct vg_resolver *r);
void vg_nxr_free(struct vg_resolver *r);
void vg_nxr_reply(struct vg_iq *iq);
void vg_nxr_probe_done(struct vg_req *req);
bool vg_nxr_usable(struct vg_resolver *r, const uint8_t *zone, const struct vg_sockaddr *a);
/* The zone and address (*addr, NULL when unknown) of probe target `probe` (1 + index). */
const uint8_t *vg_nxr_probe_target(struct vg_resolver *r, unsigned probe,
				   const struct vg_sockaddr **addr);
/* validate.c: DNSSEC. vg_validate_reply sets the status of each RRset of iq's reply (IQ_VALIDATE)
 * from the chain of trust, fetching DS and DNSKEY sets with sub-requests when the request does
 * not know them yet. Returns true when done (iq->state is IQ_FAIL with the EDE for bogus data,
 * unchanged otherwise), false when a sub-request was started: the caller returns STEP_WAIT and
 * touches iq no more (the state re-enters IQ_VALIDATE when the sub-request ends). `full`: the
 * reply answers iq's whole question (not a minimised step). A forwarder's reply is judged the
 * same way, its zones taken from RRSIG signer names (docs/architecture.md "Forwarded answers"). */
bool vg_validate_reply(struct vg_iq *iq, bool full);
/* validate_chain.c: called before each query iq sends. On the first query to a signed zone of the
 * chain (a trust anchor's zone, or a zone whose DS the request holds from its referral) whose
 * DNSKEY set the chain will need, starts that DNSKEY fetch beside the query (a detached sub-request
 * to the same servers), or arranges for it to start as soon as the DS is checked. Only what the
 * walk in vg_validate_reply would fetch later is fetched: the same queries, earlier. */
void vg_validate_prefetch(struct vg_iq *iq);
/* A question (iq's sname, qtype) whose answer was found bogus less than VG_BOGUS_TTL seconds ago
 * answers SERVFAIL with the same EDE without asking again (a flood of a bogus name costs one
 * validation a minute); CD=1 questions are never stopped here. True (with *ede and *why) when so;
 * *why points into the resolver until the slot is reused. */
bool vg_validate_remembered(struct vg_iq *iq, uint16_t *ede, const char **why);
/* validate_fwd.c: whether iq's queries to its forwarder carry CD=1 (the forwarder hands over
 * what it has, bogus too, for vigil's validator to judge): validation on and iq's name under a
 * trust anchor (a negative one too: its data is wanted unchecked). */
bool vg_validate_fwd_cd(const struct vg_iq *iq);

/* Data stored without validation (the address lookups of NS names, priming, a referral's
 * sets) is never served to a CD=0 client as if checked, when validation applies to its name
 * (anchors on, a trust anchor above it, no negative anchor closer): vg_validate_unchecked says
 * whether the cached set rs (or a negative entry's SOA set) is such data for iq's client (the
 * request's own iq only; CD=1 takes it as it is). */
bool vg_validate_unchecked(const struct vg_iq *iq, const struct vg_rrset *rs);
/* IQ_START after a cache hit of kind `kind` (VG_CACHE_*) for (iq->sname, type) that appended
 * iq->ans[first..] (or set iq->soa and its proof): validates unchecked data on its way out —
 * a positive set with its stored RRSIGs, a negative entry with its stored SOA and NSEC/NSEC3
 * proof — against the chain of trust (from the request or the cache, fetched when missing); a
 * positive set's verdict is stored back. VG_CACHED_OK: serve it (its status set);
 * VG_CACHED_WAIT: a chain fetch runs, the iq resumes in IQ_START; VG_CACHED_MISS: not servable
 * as it is (bogus, unsigned in a signed zone, a wildcard expansion whose proof is not at hand):
 * the answer is cut back to `first` and the question is asked (the validated reply replaces
 * the entry, cache/writer.c). */
enum vg_cached { VG_CACHED_OK, VG_CACHED_WAIT, VG_CACHED_MISS };
enum vg_cached vg_validate_cached(struct vg_iq *iq, size_t first, int kind, uint16_t type);
/* Trust anchors and validator of a new resolver per r->opts.dnssec; 0, VG_ECONFIG or -ENOMEM. */
int vg_validate_init(struct vg_resolver *r);
void vg_validate_free(struct vg_resolver *r);

/* request.c: called by the iterator when the request's root iq finished (DONE or FAIL). */
void vg_req_complete(struct vg_req *req);
/* Starts a request without client (prefetch, priming); returns it or NULL. */
struct vg_req *vg_req_start_background(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
				       bool prime);
/* A cross-check request (servers-disagree, log mode) for (qname, qtype): not joinable by
 * clients, not started; the caller sets its root iq up (vg_iq_make_xcheck) and its xc_bg,
 * then runs it with vg_req_launch. NULL without memory. */
struct vg_req *vg_req_new_xcheck(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype);
void vg_req_launch(struct vg_req *req);
/* Starts a background request for (qname, qtype) that skips the cached answer and asks every
 * server over TCP; NULL when one is already in flight or without memory. */
struct vg_req *vg_req_refetch_tcp(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype);

/* Starts an nxdomain-rewrite probe of forwarder `fwd` - 1 (fwdcheck.c): a background request
 * asking only that forwarder, whose result is neither cached nor answered; NULL without memory
 * (or one already in flight). */
struct vg_req *vg_req_start_probe(struct vg_resolver *r, const uint8_t *qname, uint16_t qtype,
				  unsigned fwd);
/* outq.c: identical upstream queries in flight are sent once. */
int vg_outq_send(struct vg_iq *iq);
void vg_outq_leave(struct vg_iq *iq);

/* answer.c: builds the finished request's answer (or the stale one, or SERVFAIL/REFUSED with its
 * EDE), stores it in the answer cache when it may be, and hands it to every waiting client. */
void vg_answer_finish(struct vg_req *req);

/* prime.c: root priming. vg_prime_maybe starts a priming request when the root NS set is due
 * (and the back-off allows); vg_prime_done records its outcome; vg_prime_load_hints fills
 * r->hints at creation. */
void vg_prime_maybe(struct vg_resolver *r);
void vg_prime_done(struct vg_resolver *r, bool ok);
int vg_prime_load_hints(struct vg_resolver *r);

/* store.c: the cache glue. All return quietly when there is no cache. */
void vg_store_reply(struct vg_iq *iq);
/* Opens the entry's read snapshot if it is not open yet; false without a cache or on error. */
bool vg_store_read(struct vg_resolver *r);
/* Appends a cached positive view's records (and RRSIGs) to iq->ans with `owner` as their owner
 * (a wildcard's records expanded to the query name). Returns 0 or -1. */
int vg_store_view_to_ans(struct vg_iq *iq, const uint8_t *owner,
			 const struct vg_cache_rrset_view *v);
/* A cached negative entry's SOA into iq->soa and its proof into iq->proof. */
void vg_store_neg_to_iq(struct vg_iq *iq, const struct vg_cache_rrset_view *v);
/* aggressive.c: RFC 8020 and RFC 8198. Answers iq from a validated NXDOMAIN cached between its
 * name and its zone cut iq->zone (found in the cache), or from validated NSEC/NSEC3 of that zone
 * (and a wildcard RRset) in the cache, without a query: true when it did (iq is IQ_DONE with its
 * rcode, answer, SOA and proof). Only on a cache miss, with validation and aggressive-nsec on. */
bool vg_aggressive_answer(struct vg_iq *iq);
/* Whether validated NSEC/NSEC3 records of `zone` in the cache's NSEC index prove that `child`
 * is an unsigned delegation (no DS, NS at the cut; or an opt-out span): true with *res (secure,
 * or insecure with its EDE for too many NSEC3 iterations). The walk's proof from an earlier
 * request's referral, so a later request under the same cut sends no DS query
 * (validate_chain.c). */
bool vg_aggressive_insecure_delegation(struct vg_iq *iq, const uint8_t *zone, const uint8_t *child,
				       struct vg_dnssec_result *res);
/* Looks up (name, type) and appends the records to iq->ans; returns the cache kind or -1. */
int vg_store_lookup_answer(struct vg_iq *iq, const uint8_t *name, uint16_t type, int stale_secs,
			   unsigned *hint);
/* Fills iq's zone cut from the cache: the closest NS set at or above `name` and the NS
 * addresses; false if none. */
bool vg_store_find_cut(struct vg_iq *iq, const uint8_t *name);
/* Addresses of `name` from the cache into ns; returns how many were added. */
size_t vg_store_addrs(struct vg_iq *iq, struct vg_ns *ns);
bool vg_store_name_exists(struct vg_iq *iq, const uint8_t *name);
/* Whether the cache holds anything for `name` (vg_cache_name_known); true without a cache
 * snapshot, so that the exact lookups decide. */
bool vg_store_name_known(struct vg_iq *iq, const uint8_t *name);
/* The DS or DNSKEY data of `name` the cache holds (iterated, or a forwarder's set validated
 * secure; not stale): what a DS/DNSKEY
 * sub-request answered from the cache would bring, without the request (validate_chain.c). 1 with
 * *set (in the request's arena, its status as stored: secure or insecure when it was validated,
 * indeterminate for a referral's DS, which the caller checks with the parent's keys), 2 with
 * *neg_sec (a negative entry: its SOA's status), 0 when nothing usable is cached. *ttl gets the
 * seconds left of what was found (the key table keeps what it proves no longer). */
int vg_store_chain_lookup(struct vg_iq *iq, const uint8_t *name, uint16_t type,
			  const struct vg_rrset **set, uint8_t *neg_sec, uint32_t *ttl);
/* The zone of the closest cached delegation (iterated) at or above `name` into zone
 * (VG_NAME_MAX bytes); false when none is cached. */
bool vg_store_cut_name(struct vg_iq *iq, const uint8_t *name, uint8_t *zone);
/* Writes the RRset view v (records and RRSIGs, its TTL) to the cache with this rank and status
 * (validate_cached.c, validate_chain.c: a set validated after it was stored, under the writer's
 * rank rule, which lets a validated set replace an unchecked one of equal rank). 0 or a negative
 * error. */
int vg_store_view_put(struct vg_iq *iq, const struct vg_rrset_view *v, uint8_t rank, uint8_t sec,
		      uint16_t insecure_ede, bool suspect);
/* The whole answer the answer cache holds for req's question when it is stale (within
 * serve-stale-max), written into buf (ID 0, TTLs 30); returns its rcode, or -1. */
int vg_store_stale_answer(struct vg_req *req, uint8_t *buf, size_t cap, size_t *len);
/* The one wrapper of every resolver entry point (vg_resolver_new, _resolve, _prefetch, _close,
 * the upstream reply callback, the request deadline timer): runs fn(arg) and returns its value.
 * The cache lookups fn makes share one read snapshot, opened lazily by the first of them; when
 * the outermost entry returns, the snapshot is closed, so none stays open across a loop pass. */
int vg_resolver_entry(struct vg_resolver *r, int (*fn)(void *arg), void *arg);

/* Points iq->proof at the kept authority RRSIG, NSEC and NSEC3 records of m: all of them for a
 * negative reply (iq->soa set), the NSEC/NSEC3 sets and their RRSIGs for a positive one (the
 * proof of a wildcard expansion). */
void vg_iq_proof_from_msg(struct vg_iq *iq, const struct vg_msg *m);
/* Appends one record to iq->ans (arena array growth) unless it is there already. */
int vg_iq_ans_add(struct vg_iq *iq, const struct vg_rr *rr);
/* Empties iq->ans. */
void vg_iq_ans_clear(struct vg_iq *iq);
uint32_t vg_wall32(struct vg_resolver *r);

#endif
