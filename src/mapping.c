/* Error names and their errno values. */
#include <memory_set/mapping.h>

const char *mapping_strerror(enum mapping_error err)
{
	switch (err) {
	case MAPPING_OK:
		return "Ok";
	case MAPPING_ERR_INVALID_PARAM:
		return "InvalidParam";
	case MAPPING_ERR_ALREADY_EXISTS:
		return "AlreadyExists";
	case MAPPING_ERR_BAD_STATE:
		return "BadState";
	case MAPPING_ERR_NO_MEMORY:
		return "NoMemory";
	case MAPPING_ERR_ACCESS_DENIED:
		return "AccessDenied";
	}
	return "UnknownError";
}

/* Linux asm-generic numbers, spelled out: the core has no host <errno.h>. */
int mapping_error_to_errno(enum mapping_error err)
{
	switch (err) {
	case MAPPING_OK:
		return 0;
	case MAPPING_ERR_INVALID_PARAM:
		return 22; /* EINVAL */
	case MAPPING_ERR_ALREADY_EXISTS:
		return 17; /* EEXIST */
	case MAPPING_ERR_BAD_STATE:
		return 14; /* EFAULT */
	case MAPPING_ERR_NO_MEMORY:
		return 12; /* ENOMEM */
	case MAPPING_ERR_ACCESS_DENIED:
		return 13; /* EACCES */
	}
	return 22;
}
