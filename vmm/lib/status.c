#include "vmm/status.h"

const char *hv_status_text(int status)
{
	if (status >= 0 && status <= HV_GUEST_STATUS_MAX)
		return status == HV_OK ? "success" : "guest exit status";
	switch (status) {
#define X(name, value, text) case value: return text;
	HV_STATUS_TABLE(X)
#undef X
	default:
		return "unknown status";
	}
}
