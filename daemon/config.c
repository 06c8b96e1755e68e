/* Config file grammar and parser for vigild (the one owner of the config format). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/config.h>
#include <vigil/err.h>

int vg_config_defaults(struct vg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	return 0;
}

int vg_config_parse(struct vg_config *cfg, const char *name, const char *text, char *err,
		    size_t errlen)
{
	snprintf(err, errlen, "%s: parser not implemented yet", name);
	vg_config_free(cfg);
	return VG_ECONFIG;
}

int vg_config_load(struct vg_config *cfg, const char *path, char *err, size_t errlen)
{
	return vg_config_parse(cfg, path, "", err, errlen);
}

void vg_config_free(struct vg_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
}
