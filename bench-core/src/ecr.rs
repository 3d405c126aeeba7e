//! Amazon ECR's registry host names, `<account>.dkr.ecr.<region>.amazonaws.com` (and the
//! `.amazonaws.com.cn` of the China regions; FIPS hosts, `dkr.ecr-fips`, too): a push to one
//! takes its password from ECR's `GetAuthorizationToken` in that region, and a task's images
//! can be looked up there before anything is started.

/// The account and region of an ECR registry host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EcrHost {
    /// Twelve digits.
    pub account: String,
    pub region: String,
}

impl EcrHost {
    /// The account and region of `host` (`HOST` or `HOST:PORT`), or `None` when it is not an
    /// ECR registry host.
    pub fn parse(host: &str) -> Option<EcrHost> {
        let name = host.split_once(':').map_or(host, |(name, _)| name);
        let rest = name
            .strip_suffix(".amazonaws.com")
            .or_else(|| name.strip_suffix(".amazonaws.com.cn"))?;
        let mut parts = rest.split('.');
        let (account, dkr, ecr, region, end) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next(),
        );
        let valid = end.is_none()
            && dkr == "dkr"
            && (ecr == "ecr" || ecr == "ecr-fips")
            && account.len() == 12
            && account.chars().all(|c| c.is_ascii_digit())
            && !region.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        valid.then(|| EcrHost {
            account: account.to_owned(),
            region: region.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts_give_their_account_and_region() {
        let host = |account: &str, region: &str| {
            Some(EcrHost {
                account: account.to_owned(),
                region: region.to_owned(),
            })
        };
        assert_eq!(
            EcrHost::parse("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
            host("123456789012", "us-east-1")
        );
        assert_eq!(
            EcrHost::parse("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com:443"),
            host("123456789012", "us-gov-west-1")
        );
        assert_eq!(
            EcrHost::parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"),
            host("123456789012", "cn-north-1")
        );
        for other in [
            "127.0.0.1:5000",
            "registry.example",
            "public.ecr.aws",
            "12345.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.example.com",
            "123456789012.dkr.ecr.amazonaws.com",
            "x.123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ] {
            assert_eq!(EcrHost::parse(other), None, "{other}");
        }
    }
}
