"""Resource types that cost nothing by themselves, and types billed through another resource.

`mlops cost` prices every resource type in `mlops.cost.estimator.PRICERS`; the types here are listed
as free (with the reason) so an estimate always accounts for every resource the program creates.
Anything in neither place is reported as NOT PRICED. To add a type: price it in estimator.py, or
add it here with an honest reason.
"""

from __future__ import annotations

_NO_CHARGE = "no charge for the resource itself"
_CONFIG = "configuration of another resource; no charge of its own"
_VIA_ENDPOINT = "billed through aws:sagemaker/endpoint:Endpoint (instance-hours or serverless)"
_LOW_VOLUME = "request charges negligible at platform volumes (first 1M requests/month free)"

FREE_TYPES: dict[str, str] = {
    # identity
    **{
        f"aws:iam/{t}": _NO_CHARGE
        for t in (
            "role:Role",
            "policy:Policy",
            "rolePolicy:RolePolicy",
            "rolePolicyAttachment:RolePolicyAttachment",
            "rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
            "rolePoliciesExclusive:RolePoliciesExclusive",
            "instanceProfile:InstanceProfile",
            "openIdConnectProvider:OpenIdConnectProvider",
            "serviceLinkedRole:ServiceLinkedRole",
            "accountPasswordPolicy:AccountPasswordPolicy",
            "group:Group",
            "groupPolicyAttachment:GroupPolicyAttachment",
        )
    },
    "aws:accessanalyzer/analyzer:Analyzer": "external-access analyzers are free",
    # network
    **{
        f"aws:ec2/{t}": _NO_CHARGE
        for t in (
            "vpc:Vpc",
            "subnet:Subnet",
            "routeTable:RouteTable",
            "routeTableAssociation:RouteTableAssociation",
            "route:Route",
            "mainRouteTableAssociation:MainRouteTableAssociation",
            "securityGroup:SecurityGroup",
            "securityGroupRule:SecurityGroupRule",
            "defaultSecurityGroup:DefaultSecurityGroup",
            "defaultNetworkAcl:DefaultNetworkAcl",
            "defaultRouteTable:DefaultRouteTable",
            "networkAcl:NetworkAcl",
            "networkAclRule:NetworkAclRule",
            "networkAclAssociation:NetworkAclAssociation",
            "internetGateway:InternetGateway",
            "egressOnlyInternetGateway:EgressOnlyInternetGateway",
            "vpcDhcpOptions:VpcDhcpOptions",
            "vpcDhcpOptionsAssociation:VpcDhcpOptionsAssociation",
            "vpcEndpointPolicy:VpcEndpointPolicy",
            "vpcEndpointRouteTableAssociation:VpcEndpointRouteTableAssociation",
            "vpcEndpointSubnetAssociation:VpcEndpointSubnetAssociation",
            "natGatewayEipAssociation:NatGatewayEipAssociation",
            "eipAssociation:EipAssociation",
        )
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _NO_CHARGE,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _NO_CHARGE,
    "aws:vpc/endpointPrivateDns:EndpointPrivateDns": _CONFIG,
    # keys and storage configuration
    "aws:kms/alias:Alias": _NO_CHARGE,
    "aws:kms/keyPolicy:KeyPolicy": _CONFIG,
    "aws:kms/grant:Grant": _NO_CHARGE,
    **{
        f"aws:s3/{t}": _CONFIG
        for t in (
            "bucketPolicy:BucketPolicy",
            "bucketPublicAccessBlock:BucketPublicAccessBlock",
            "bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
            "bucketVersioning:BucketVersioning",
            "bucketVersioningV2:BucketVersioningV2",
            "bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            "bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
            "bucketOwnershipControls:BucketOwnershipControls",
            "bucketLogging:BucketLogging",
            "bucketLoggingV2:BucketLoggingV2",
            "bucketNotification:BucketNotification",
            "bucketAcl:BucketAcl",
            "bucketAclV2:BucketAclV2",
            "bucketCorsConfiguration:BucketCorsConfiguration",
            "bucketObjectLockConfiguration:BucketObjectLockConfiguration",
            "bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2",
            "bucketObjectv2:BucketObjectv2",
            "bucketObject:BucketObject",
            "accountPublicAccessBlock:AccountPublicAccessBlock",
        )
    },
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": "replicated GB counted as storage",
    # SageMaker control plane
    "aws:sagemaker/domain:Domain": "no charge; Studio apps are priced per user profile",
    "aws:sagemaker/space:Space": "no charge; apps in a space bill like user apps",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _NO_CHARGE,
    "aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy": _NO_CHARGE,
    "aws:sagemaker/pipeline:Pipeline": "no charge; its training/processing jobs are estimated "
    "from the use-case manifests",
    "aws:sagemaker/model:Model": _NO_CHARGE,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _VIA_ENDPOINT,
    "aws:sagemaker/image:Image": _NO_CHARGE,
    "aws:sagemaker/imageVersion:ImageVersion": "image storage billed in ECR",
    "aws:sagemaker/appImageConfig:AppImageConfig": _NO_CHARGE,
    "aws:sagemaker/studioLifecycleConfig:StudioLifecycleConfig": _NO_CHARGE,
    "aws:sagemaker/codeRepository:CodeRepository": _NO_CHARGE,
    "aws:sagemaker/project:Project": _NO_CHARGE,
    "aws:sagemaker/modelCard:ModelCard": _NO_CHARGE,
    "aws:sagemaker/servicecatalogPortfolioStatus:ServicecatalogPortfolioStatus": _NO_CHARGE,
    "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition": "billed per run of its "
    "monitoring schedule",
    "aws:appautoscaling/target:Target": _VIA_ENDPOINT + "; minCapacity sets the instance count",
    "aws:appautoscaling/policy:Policy": _VIA_ENDPOINT,
    "aws:appautoscaling/scheduledAction:ScheduledAction": _VIA_ENDPOINT,
    # serving glue
    "aws:lambda/permission:Permission": _NO_CHARGE,
    "aws:lambda/alias:Alias": _NO_CHARGE,
    "aws:lambda/layerVersion:LayerVersion": _NO_CHARGE,
    "aws:lambda/eventSourceMapping:EventSourceMapping": _NO_CHARGE,
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": _CONFIG,
    **{
        f"aws:apigateway/{t}": "requests are billed on the REST API"
        for t in (
            "resource:Resource",
            "method:Method",
            "integration:Integration",
            "methodResponse:MethodResponse",
            "integrationResponse:IntegrationResponse",
            "deployment:Deployment",
            "stage:Stage",
            "methodSettings:MethodSettings",
            "account:Account",
            "restApiPolicy:RestApiPolicy",
            "requestValidator:RequestValidator",
            "model:Model",
            "usagePlan:UsagePlan",
            "usagePlanKey:UsagePlanKey",
            "apiKey:ApiKey",
            "authorizer:Authorizer",
            "response:Response",
            "basePathMapping:BasePathMapping",
        )
    },
    "aws:apigatewayv2/stage:Stage": "requests are billed on the API",
    "aws:apigatewayv2/route:Route": "requests are billed on the API",
    "aws:apigatewayv2/integration:Integration": "requests are billed on the API",
    "aws:sfn/alias:Alias": _NO_CHARGE,
    # logs, events, messaging
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": _NO_CHARGE,
    "aws:cloudwatch/logResourcePolicy:LogResourcePolicy": _NO_CHARGE,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _NO_CHARGE,
    "aws:cloudwatch/logStream:LogStream": "ingest billed on its log group",
    "aws:cloudwatch/logDataProtectionPolicy:LogDataProtectionPolicy": "scanning priced per GB; "
    "not estimated",
    "aws:cloudwatch/logDestination:LogDestination": _NO_CHARGE,
    "aws:cloudwatch/logDestinationPolicy:LogDestinationPolicy": _NO_CHARGE,
    "aws:cloudwatch/eventRule:EventRule": "AWS service events on the default bus are free",
    "aws:cloudwatch/eventTarget:EventTarget": _NO_CHARGE,
    "aws:cloudwatch/eventBusPolicy:EventBusPolicy": _NO_CHARGE,
    "aws:cloudwatch/eventPermission:EventPermission": _NO_CHARGE,
    "aws:sns/topic:Topic": _LOW_VOLUME,
    "aws:sns/topicPolicy:TopicPolicy": _NO_CHARGE,
    "aws:sns/topicSubscription:TopicSubscription": _LOW_VOLUME,
    "aws:sqs/queue:Queue": _LOW_VOLUME,
    "aws:sqs/queuePolicy:QueuePolicy": _NO_CHARGE,
    "aws:sqs/redrivePolicy:RedrivePolicy": _NO_CHARGE,
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy": _NO_CHARGE,
    # audit and compliance configuration
    "aws:guardduty/detectorFeature:DetectorFeature": "feature usage billed on the detector",
    "aws:guardduty/publishingDestination:PublishingDestination": _NO_CHARGE,
    "aws:cfg/deliveryChannel:DeliveryChannel": "delivered objects billed as S3",
    "aws:cfg/recorderStatus:RecorderStatus": _NO_CHARGE,
    "aws:cfg/retentionConfiguration:RetentionConfiguration": _NO_CHARGE,
    "aws:cfg/configurationAggregator:ConfigurationAggregator": _NO_CHARGE,
    "aws:cfg/aggregateAuthorization:AggregateAuthorization": _NO_CHARGE,
    "aws:cfg/remediationConfiguration:RemediationConfiguration": "SSM Automation steps; negligible",
    # delivery
    "aws:codepipeline/webhook:Webhook": _NO_CHARGE,
    "aws:codebuild/webhook:Webhook": _NO_CHARGE,
    "aws:codebuild/sourceCredential:SourceCredential": _NO_CHARGE,
    "aws:codebuild/reportGroup:ReportGroup": "reports stored in S3",
    "aws:codestarconnections/connection:Connection": _NO_CHARGE,
    "aws:codecommit/repository:Repository": "free for the first 5 active users per account; "
    "$1/user-month beyond (not estimated)",
    "aws:codeconnections/connection:Connection": _NO_CHARGE,
    "aws:codestarnotifications/notificationRule:NotificationRule": _NO_CHARGE,
    "aws:ecr/repositoryPolicy:RepositoryPolicy": _NO_CHARGE,
    "aws:codeartifact/repository:Repository": "storage and requests billed on the domain",
    "aws:codeartifact/domainPermissions:DomainPermissions": _NO_CHARGE,
    "aws:codeartifact/repositoryPermissionsPolicy:RepositoryPermissionsPolicy": _NO_CHARGE,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": _NO_CHARGE,
    "aws:ecr/registryPolicy:RegistryPolicy": _NO_CHARGE,
    "aws:ecr/replicationConfiguration:ReplicationConfiguration": "replicas billed as storage",
    "aws:secretsmanager/secretVersion:SecretVersion": "billed on the secret",
    "aws:secretsmanager/secretPolicy:SecretPolicy": _NO_CHARGE,
    "aws:secretsmanager/secretRotation:SecretRotation": "rotation Lambda billed as Lambda",
    "aws:ssm/parameter:Parameter": "standard parameters are free",
    "aws:ssm/document:Document": _NO_CHARGE,
    **{
        f"aws:servicecatalog/{t}": "Service Catalog API calls: first 1,000/month free"
        for t in (
            "portfolio:Portfolio",
            "product:Product",
            "productPortfolioAssociation:ProductPortfolioAssociation",
            "principalPortfolioAssociation:PrincipalPortfolioAssociation",
            "constraint:Constraint",
            "provisioningArtifact:ProvisioningArtifact",
            "portfolioShare:PortfolioShare",
            "tagOption:TagOption",
            "tagOptionResourceAssociation:TagOptionResourceAssociation",
        )
    },
    "aws:budgets/budget:Budget": "the first two action-free budgets per account are free",
    "aws:glue/catalogDatabase:CatalogDatabase": "first million catalog objects free",
    "aws:glue/catalogTable:CatalogTable": "first million catalog objects free",
    "aws:athena/workgroup:Workgroup": "queries billed per TB scanned; not estimated",
    "aws:organizations/policy:Policy": _NO_CHARGE,
    "aws:organizations/policyAttachment:PolicyAttachment": _NO_CHARGE,
}
# Not AWS: billed elsewhere or not billed at all. Matched by prefix.
EXTERNAL_PREFIXES: dict[str, str] = {
    "snowflake:": "billed by Snowflake (warehouse credits and storage), not AWS",
    "random:": "local value, no cloud resource",
    "tls:": "local value, no cloud resource",
    "command:": "local command, no cloud resource",
}

# Not resources at all for billing: the engine's own bookkeeping. Matched by prefix.
IGNORED_PREFIXES: tuple[str, ...] = ("pulumi:", "mlops:")
