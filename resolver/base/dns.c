/* The RR header reader and the rdata name layout table declared in vigil/dns.h. */
#include <vigil/dns.h>
#include <vigil/err.h>
#include <vigil/name.h>

int vg_dns_rr_fixed(const uint8_t *pkt, size_t len, size_t *pos, struct vg_dns_rr *rr)
{
	size_t p = *pos;
	if (p > len || len - p < VG_DNS_RR_FIXED)
		return VG_ETRUNC;
	rr->type = vg_get_u16(pkt + p);
	rr->rclass = vg_get_u16(pkt + p + 2);
	rr->ttl = vg_get_u32(pkt + p + 4);
	rr->rdlen = vg_get_u16(pkt + p + 8);
	p += VG_DNS_RR_FIXED;
	if (len - p < rr->rdlen)
		return VG_ETRUNC;
	rr->rdata = p;
	*pos = p;
	return 0;
}

int vg_dns_rr_read(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *owner,
		   struct vg_dns_rr *rr)
{
	size_t start = *pos;
	int n = vg_name_unpack(pkt, len, pos, owner);
	if (n < 0)
		return n;
	rr->owner = start;
	int rc = vg_dns_rr_fixed(pkt, len, pos, rr);
	return rc < 0 ? rc : n;
}

enum vg_rdata_layout vg_dns_rdata_layout(uint16_t type)
{
	switch (type) {
	case VG_TYPE_NS:
	case VG_TYPE_CNAME:
	case VG_TYPE_PTR:
	case VG_TYPE_DNAME:
	case 3:
	case 4:
	case 7:
	case 8:
	case 9: /* MD MF MB MG MR */
		return VG_RD_NAME;
	case VG_TYPE_SOA:
		return VG_RD_SOA;
	case VG_TYPE_MX:
	case 18:
	case 21:
	case 36: /* MX AFSDB RT KX */
		return VG_RD_U16_NAME;
	case VG_TYPE_SRV:
		return VG_RD_SRV;
	case 14:
	case 17: /* MINFO RP */
		return VG_RD_2NAMES;
	case VG_TYPE_RRSIG:
		return VG_RD_RRSIG;
	case VG_TYPE_NSEC:
		return VG_RD_NAME_REST;
	default:
		return VG_RD_OPAQUE;
	}
}
